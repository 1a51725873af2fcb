import { RoseError, assertNever, createLinks } from '@rose/core';
import type { CommandContext } from '../context.ts';

export async function oauthClientsAdd(ctx: CommandContext, opts: { name: string; redirectUri: string[]; postLogoutRedirectUri?: string[]; firstParty?: boolean; confidential?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const result = await services.oauth.clients.add({
      name: opts.name,
      redirectUris: opts.redirectUri,
      postLogoutRedirectUris: opts.postLogoutRedirectUri ?? [],
      firstParty: Boolean(opts.firstParty),
      confidential: Boolean(opts.confidential),
    });
    if (!result.ok) {
      const e = result.error;
      switch (e.type) {
        case 'bad-name':
          throw new RoseError({ code: 'bad-argument', title: 'Invalid name', message: 'The client name must be 1 to 100 characters.' });
        case 'bad-redirect-uri':
          throw new RoseError({ code: 'bad-argument', title: 'Invalid redirect URI', message: `${e.uri || '(none)'}: ${e.reason}.` });
        default:
          assertNever(e);
      }
    }
    ctx.out.info(`client_id: ${result.value.clientId}`);
    if (result.value.clientSecret) ctx.out.info(`client_secret: ${result.value.clientSecret}   (shown once: store it in the application now)`);
    const issuer = createLinks({ siteUrl: ctx.config.siteUrl }).provider.url.prefix();
    ctx.out.info(`issuer: ${issuer}  (discovery: ${issuer}/.well-known/openid-configuration)`);
  });
}

export async function oauthClientsList(ctx: CommandContext): Promise<void> {
  await ctx.withServices(async (services) => {
    const clients = await services.oauth.clients.list();
    if (clients.length === 0) ctx.out.info('No clients registered.');
    for (const c of clients) ctx.out.info(`  ${c.clientId}  ${c.name}${c.firstParty ? '  (first party)' : ''}${c.confidential ? '  (confidential)' : '  (public, PKCE)'}  ${c.redirectUris.join(' ')}`);
  });
}

export async function oauthClientsRemove(ctx: CommandContext, clientId: string): Promise<void> {
  await ctx.withServices(async (services) => {
    if (!(await services.oauth.clients.remove(clientId))) {
      throw new RoseError({ code: 'not-found', title: 'No such client', message: `There is no client "${clientId}".`, hint: 'See `rose oauth clients list`.' });
    }
    ctx.out.info(`Removed ${clientId} and revoked everything issued to it.`);
  });
}

export async function oauthKeysRotate(ctx: CommandContext): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const { kid, retired } = await services.oauth.keys.rotate();
    ctx.out.info(`New signing key ${kid} is active; ${retired.length} previous key(s) stay published for 2 days so existing tokens still verify. Running servers switch to it within a second.`);
  });
}
