import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { createLinks, linkPaths, type Links } from '@rose/core';
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

/** A request that reached the provider on another origin than the site's: where it goes instead. */
export interface MisdirectedRequest {
  status: number;
  location: string;
  text: string;
}

const prefix = linkPaths.provider.prefix();
// Every endpoint discovery advertises is answered here (test/oidc.e2e.test.ts walks them).
const routes = { authorization: '/authorize', token: '/token', jwks: '/jwks', userinfo: '/userinfo', revocation: '/revoke', end_session: '/end-session', pushed_authorization_request: '/par' };
const providerPaths = [/^\/\.well-known\//, /^\/authorize(\/|$)/, /^\/token$/, /^\/jwks$/, /^\/userinfo$/, /^\/revoke$/, /^\/end-session(\/|$)/, /^\/par$/];

/**
 * The OpenID Connect provider (oidc-provider, certified) under `/auth`: authorization code
 * flow only, PKCE S256 required for every client, refresh tokens rotated, revocation,
 * userinfo, RP-initiated logout, pushed authorization requests, DPoP. Login and consent are
 * ours (`/auth/interaction/:uid`), reusing the site's own sign-in. Every URL it publishes is
 * on `siteUrl`, whatever Host or X-Forwarded-Host a request carries.
 */
export async function createOpenIdProvider(deps: {
  db: Kysely<Database>;
  siteUrl: string;
  /** The site's links (for "back to the site"); made from `siteUrl` when not given. */
  links?: Links;
  /** Stable across restarts and instances (derived from ASTRO_KEY by the caller). */
  secret: string;
  findAccount: (id: string) => Promise<OidcAccount | undefined>;
  /** The signed-in user of this browser (from the site's session cookie). */
  currentUser: (req: IncomingMessage) => Promise<OidcAccount | undefined>;
  /** A user signed out at the provider (RP-initiated logout): end their site sessions. */
  onSignedOut?: (accountId: string) => Promise<void>;
  /**
   * Judges the origin a request arrived on (forwarded headers count only from trusted
   * proxies); a request on another origin than the site's is sent there instead of served.
   */
  misdirected?: (req: IncomingMessage) => MisdirectedRequest | undefined;
}): Promise<OpenIdProvider> {
  const issuer = new URL(prefix, deps.siteUrl).toString().replace(/\/$/, '');
  const site = new URL(deps.siteUrl);
  const back = `<p><a href="${escape((deps.links ?? createLinks({ siteUrl: deps.siteUrl })).blog.url.home())}">Back to the site</a></p>`;
  const cookieKey = createHash('sha256').update(`oidc-cookies:${deps.secret}`).digest('base64url');
  const configuration: Configuration = {
    adapter: createOidcAdapter(deps.db) as unknown as Configuration['adapter'],
    jwks: { keys: (await loadSigningKeys(deps.db)) as never },
    cookies: { keys: [cookieKey] },
    clients: [],
    extraClientMetadata: { properties: ['first_party'] },
    responseTypes: ['code'],
    // What our clients are registered with (clients.repository.ts): public clients with PKCE
    // alone, confidential ones with HTTP Basic. Nothing else is advertised.
    clientAuthMethods: ['none', 'client_secret_basic'],
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
          ctx.body = page('Signed out', `<h1>You are signed out</h1>${back}`);
        },
      },
      backchannelLogout: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      dPoP: { enabled: true },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<h1>Something went wrong</h1><p>${escape(String(out.error_description ?? out.error))}</p>${back}`);
    },
    routes,
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => linkPaths.provider.interaction(interaction.uid) },
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
  // oidc-provider builds its endpoint URLs and cookie flags from the request's host and
  // scheme; handle() sets both from siteUrl on every request (see there).
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
      res.writeHead(303, { Location: linkPaths.auth.login(linkPaths.provider.interaction(uid)), 'Cache-Control': 'no-store' });
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
    if (!firstParty && action !== 'confirm') return renderConsent(res, uid, client.clientName ?? client.clientId, String(params.scope ?? 'openid'), typeof params.redirect_uri === 'string' ? params.redirect_uri : client.redirectUris?.[0], user);
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
      if (!interactionMatch && !providerPaths.some((p) => p.test(path))) return false;
      // The provider lives on the site's origin only: its cookies and issuer are tied to it.
      const elsewhere = deps.misdirected?.(req);
      if (elsewhere) {
        res.writeHead(elsewhere.status, { Location: elsewhere.location, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(elsewhere.text);
        return true;
      }
      // Koa (proxy mode) reads the host and scheme from these headers: whatever a client
      // sent, the provider sees the configured origin, so discovery, redirects and cookie
      // flags never follow a forged Host or X-Forwarded-Host.
      req.headers['x-forwarded-host'] = site.host;
      req.headers['x-forwarded-proto'] = site.protocol.slice(0, -1);
      if (interactionMatch) {
        if (req.method === 'POST' && req.headers.origin !== site.origin) {
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
      // Express-style mount: the provider sees paths without the prefix, and the full
      // path in originalUrl (oidc-provider builds its URLs from it).
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = rest;
      await callback(req, res);
      return true;
    },
  };
}

function sendText(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title><style>body{font:17px/1.6 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1f2421;background:#fbfaf6}a{color:#9c2f4a}button{font:600 1rem system-ui;padding:.6rem 1rem;border-radius:6px;border:0;background:#9c2f4a;color:#fff;cursor:pointer}button.secondary{background:transparent;color:#9c2f4a;border:1px solid #9c2f4a}</style></head><body>${body}</body></html>`;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The consent page's Content-Security-Policy. Chromium checks form-action against every
 * redirect that follows a form post, and both Allow and Deny end in a redirect to the
 * application's redirect_uri (via /auth/authorize): that origin must be allowed too, or the
 * browser stops short of the application (net::ERR_ABORTED). The redirect_uri has already
 * been checked against the client's registered ones. Never framed (clickjacking).
 *
 * @example
 * consentPagePolicy('https://app.example/cb') // "…; form-action 'self' https://app.example; frame-ancestors 'none'"
 */
export function consentPagePolicy(redirectUri: string | undefined): string {
  const target = redirectUri && URL.canParse(redirectUri) ? new URL(redirectUri) : undefined;
  // A private-use scheme (com.example.app:/cb) has no origin; CSP names it by scheme. With
  // no redirect URI to name, form-action is left out rather than block the way back.
  const source = target && (target.origin === 'null' ? target.protocol : target.origin);
  return `default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; ${source ? `form-action 'self' ${source}; ` : ''}frame-ancestors 'none'`;
}

function renderConsent(res: ServerResponse, uid: string, clientName: string, scope: string, redirectUri: string | undefined, user: OidcAccount) {
  const scopes = scope.split(' ').filter(Boolean);
  const described: Record<string, string> = { openid: 'know who you are', email: 'see your email address', profile: 'see your name', offline_access: 'stay connected when you are away' };
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': consentPagePolicy(redirectUri) });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Allow ${escape(clientName)}?</title>
<style>body{font:17px/1.6 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1f2421;background:#fbfaf6}button{font:600 1rem system-ui;padding:.6rem 1rem;border-radius:6px;border:0;background:#9c2f4a;color:#fff;cursor:pointer}button.secondary{background:transparent;color:#9c2f4a;border:1px solid #9c2f4a}</style></head>
<body><h1>Allow ${escape(clientName)}?</h1><p>Signed in as <strong>${escape(user.displayName)}</strong> (${escape(user.email)}).</p>
<p><strong>${escape(clientName)}</strong> would like to:</p><ul>${scopes.map((s) => `<li>${escape(described[s] ?? s)}</li>`).join('')}</ul>
<form method="post" action="${escape(linkPaths.provider.interactionConfirm(uid))}" style="display:inline"><button type="submit" data-testid="allow">Allow</button></form>
<form method="post" action="${escape(linkPaths.provider.interactionAbort(uid))}" style="display:inline"><button class="secondary" type="submit" data-testid="deny">Deny</button></form></body></html>`);
}
