import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '@rose/db';
import { createOidcAdapter } from './oidc-adapter.ts';
import { loadSigningKeys } from './keys.ts';

export interface OidcAccount {
  id: string;
  email: string;
  displayName: string;
  emailVerified: boolean;
}

export interface OpenIdProvider {
  readonly issuer: string;
  readonly provider: Provider;
  /**
   * Handles the request when it belongs to the provider (discovery, authorize, token, JWKS,
   * userinfo, revocation, end-session) or its interactions; returns false otherwise.
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const prefix = '/auth';
const providerPaths = [/^\/\.well-known\//, /^\/authorize(\/|$)/, /^\/token$/, /^\/jwks$/, /^\/userinfo$/, /^\/revoke$/, /^\/end-session(\/|$)/];

/**
 * The OpenID Connect provider (oidc-provider, certified) under `/auth`: authorization code
 * flow only, PKCE S256 required for every client, refresh tokens rotated, revocation,
 * userinfo, RP-initiated logout. Login and consent are ours (`/auth/interaction/:uid`),
 * reusing the site's own sign-in.
 */
export async function createOpenIdProvider(deps: {
  db: Kysely<Database>;
  siteUrl: string;
  /** Stable across restarts and instances (derived from ASTRO_KEY by the caller). */
  secret: string;
  findAccount: (id: string) => Promise<OidcAccount | undefined>;
  /** The signed-in user of this browser (from the site's session cookie). */
  currentUser: (req: IncomingMessage) => Promise<OidcAccount | undefined>;
  /** A user signed out at the provider (RP-initiated logout): end their site sessions. */
  onSignedOut?: (accountId: string) => Promise<void>;
}): Promise<OpenIdProvider> {
  const issuer = new URL(prefix, deps.siteUrl).toString().replace(/\/$/, '');
  const cookieKey = createHash('sha256').update(`oidc-cookies:${deps.secret}`).digest('base64url');
  const configuration: Configuration = {
    adapter: createOidcAdapter(deps.db) as unknown as Configuration['adapter'],
    jwks: { keys: (await loadSigningKeys(deps.db)) as never },
    cookies: { keys: [cookieKey] },
    clients: [],
    extraClientMetadata: { properties: ['first_party'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Sign out?', `<h1>Sign out of ${escape(new URL(deps.siteUrl).host)}?</h1>${form}<p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> <button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button></p>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', `<h1>You are signed out</h1><p><a href="/blog/">Back to the site</a></p>`);
        },
      },
      backchannelLogout: { enabled: true },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<h1>Something went wrong</h1><p>${escape(String(out.error_description ?? out.error))}</p><p><a href="/blog/">Back to the site</a></p>`);
    },
    routes: { authorization: '/authorize', token: '/token', jwks: '/jwks', userinfo: '/userinfo', revocation: '/revoke', end_session: '/end-session' },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `${prefix}/interaction/${interaction.uid}` },
    rotateRefreshToken: true,
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Grant: 14 * 24 * 3600, Session: 14 * 24 * 3600, RefreshToken: 14 * 24 * 3600 },
    findAccount: async (_ctx, sub) => {
      const account = await deps.findAccount(sub);
      if (!account) return undefined;
      return {
        accountId: account.id,
        claims: async () => ({ sub: account.id, email: account.email, email_verified: account.emailVerified, name: account.displayName }),
      };
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.proxy = true;
  // Signing out at the provider ends the site's sessions of that user too (on every host).
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const accountId = ctx.oidc.session?.accountId;
    if (accountId && deps.onSignedOut) void deps.onSignedOut(accountId).catch(() => {});
  });
  const callback = provider.callback();

  const interaction = async (req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined) => {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return sendText(res, 400, 'This sign-in request is not the one in progress.');
    const user = await deps.currentUser(req);
    if (!user) {
      res.writeHead(303, { Location: `/auth/login?return_to=${encodeURIComponent(`${prefix}/interaction/${uid}`)}`, 'Cache-Control': 'no-store' });
      return res.end();
    }
    const { prompt, params } = details;
    if (prompt.name === 'login') {
      return provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
    }
    const client = await provider.Client.find(String(params.client_id));
    if (!client) return sendText(res, 400, 'Unknown application.');
    if (action === 'abort') {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user declined.' }, { mergeWithLastSubmission: false });
    }
    const firstParty = Boolean((client as unknown as { first_party?: boolean }).first_party);
    if (!firstParty && action !== 'confirm') return renderConsent(res, uid, client.clientName ?? client.clientId, String(params.scope ?? 'openid'), user);
    const grant = details.grantId
      ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId: user.id, clientId: client.clientId }))
      : new provider.Grant({ accountId: user.id, clientId: client.clientId });
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };

  return {
    issuer,
    provider,
    async handle(req, res) {
      const url = req.url ?? '/';
      if (!url.startsWith(`${prefix}/`)) return false;
      const rest = url.slice(prefix.length);
      const path = rest.split('?')[0]!;
      const interactionMatch = /^\/interaction\/([A-Za-z0-9_-]{10,64})(?:\/(confirm|abort))?$/.exec(path);
      if (interactionMatch) {
        if (req.method === 'POST' && !sameOrigin(req, deps.siteUrl)) {
          sendText(res, 403, 'Cross-site request refused.');
          return true;
        }
        try {
          await interaction(req, res, interactionMatch[1]!, req.method === 'POST' ? interactionMatch[2] : undefined);
        } catch (error) {
          if (!res.headersSent) sendText(res, 400, `This sign-in request cannot continue (${(error as Error).name}). Start again from the application.`);
        }
        return true;
      }
      if (!providerPaths.some((p) => p.test(path))) return false;
      // Express-style mount: the provider sees paths without the prefix, and the full
      // path in originalUrl (oidc-provider builds its URLs from it).
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = rest;
      await callback(req, res);
      return true;
    },
  };
}

function sameOrigin(req: IncomingMessage, siteUrl: string): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const host = req.headers.host;
  return origin === new URL(siteUrl).origin || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
}

function sendText(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title><style>body{font:17px/1.6 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1f2421;background:#fbfaf6}a{color:#9c2f4a}button{font:600 1rem system-ui;padding:.6rem 1rem;border-radius:6px;border:0;background:#9c2f4a;color:#fff;cursor:pointer}button.secondary{background:transparent;color:#9c2f4a;border:1px solid #9c2f4a}</style></head><body>${body}</body></html>`;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function renderConsent(res: ServerResponse, uid: string, clientName: string, scope: string, user: OidcAccount) {
  const scopes = scope.split(' ').filter(Boolean);
  const described: Record<string, string> = { openid: 'know who you are', email: 'see your email address', profile: 'see your name', offline_access: 'stay connected when you are away' };
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Allow ${escape(clientName)}?</title>
<style>body{font:17px/1.6 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1f2421;background:#fbfaf6}button{font:600 1rem system-ui;padding:.6rem 1rem;border-radius:6px;border:0;background:#9c2f4a;color:#fff;cursor:pointer}button.secondary{background:transparent;color:#9c2f4a;border:1px solid #9c2f4a}</style></head>
<body><h1>Allow ${escape(clientName)}?</h1><p>Signed in as <strong>${escape(user.displayName)}</strong> (${escape(user.email)}).</p>
<p><strong>${escape(clientName)}</strong> would like to:</p><ul>${scopes.map((s) => `<li>${escape(described[s] ?? s)}</li>`).join('')}</ul>
<form method="post" action="${prefix}/interaction/${escape(uid)}/confirm" style="display:inline"><button type="submit" data-testid="allow">Allow</button></form>
<form method="post" action="${prefix}/interaction/${escape(uid)}/abort" style="display:inline"><button class="secondary" type="submit">Deny</button></form></body></html>`);
}
