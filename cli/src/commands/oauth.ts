import { RoseError, assertNever } from '@rose/core';
import { addClient, listClients, removeClient, rotateSigningKey } from '@rose/oauth';
import type { CommandContext } from '../context.ts';

export async function oauthClientsAdd(ctx: CommandContext, opts: { name: string; redirectUri: string[]; postLogoutRedirectUri?: string[]; firstParty?: boolean; confidential?: boolean }): Promise<void> {
  const services = await ctx.openServices();
  try {
    await services.migrations.assertCurrent();
    const result = await addClient(services.database.db, {
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
    ctx.out.info(`issuer: ${new URL('/auth', ctx.config.siteUrl)}  (discovery: /auth/.well-known/openid-configuration)`);
  } finally {
    await services.close();
  }
}

export async function oauthClientsList(ctx: CommandContext): Promise<void> {
  const services = await ctx.openServices();
  try {
    const clients = await listClients(services.database.db);
    if (clients.length === 0) ctx.out.info('No clients registered.');
    for (const c of clients) ctx.out.info(`  ${c.clientId}  ${c.name}${c.firstParty ? '  (first party)' : ''}${c.confidential ? '  (confidential)' : '  (public, PKCE)'}  ${c.redirectUris.join(' ')}`);
  } finally {
    await services.close();
  }
}

export async function oauthClientsRemove(ctx: CommandContext, clientId: string): Promise<void> {
  const services = await ctx.openServices();
  try {
    if (!(await removeClient(services.database.db, clientId))) {
      throw new RoseError({ code: 'not-found', title: 'No such client', message: `There is no client "${clientId}".`, hint: 'See `rose oauth clients list`.' });
    }
    ctx.out.info(`Removed ${clientId} and revoked everything issued to it.`);
  } finally {
    await services.close();
  }
}

export async function oauthKeysRotate(ctx: CommandContext): Promise<void> {
  const services = await ctx.openServices();
  try {
    await services.migrations.assertCurrent();
    const { kid, retired } = await rotateSigningKey(services.database.db);
    ctx.out.info(`New signing key ${kid} is active; ${retired.length} previous key(s) stay published for 2 days so existing tokens still verify. Running servers switch to it within a second.`);
  } finally {
    await services.close();
  }
}
