import http from 'node:http';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuiltSite, freePort, launchBrowser, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';

const password = 'Orchard-Apples-and-Pears-9';

/** A tiny cookie jar: what a browser would keep between redirects. */
class Jar {
  readonly cookies = new Map<string, string>();
  store(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** A third-party application's web server: it receives the browser at its redirect URI. */
async function startClientApp(): Promise<{ redirectUri: string; next(why: () => string): Promise<URL>; stop(): Promise<void> }> {
  const arrived: URL[] = [];
  const waiting: ((url: URL) => void)[] = [];
  const app = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end(); // the browser asks for /favicon.ico too
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Cider Club</title><p data-testid="app">Back at the app</p>');
    const waiter = waiting.shift();
    if (waiter) waiter(url);
    else arrived.push(url);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const { port } = app.address() as { port: number };
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    /** The next request at the redirect URI; rejects after a while with `why()` (what the browser said). */
    next: (why: () => string) => {
      const first = arrived.shift();
      if (first) return Promise.resolve(first);
      return new Promise<URL>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the app never received the browser at its redirect URI: ${why()}`)), 15_000);
        waiting.push((url) => {
          clearTimeout(timer);
          resolve(url);
        });
      });
    },
    stop: () => new Promise<void>((resolve) => app.close(() => resolve())),
  };
}

/** A request with the Host (and other headers) a client chooses, which fetch cannot forge. */
function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// A real third-party relying party (openid-client) against our provider: discovery,
// authorize with PKCE, our login and consent, code exchange, id_token validation,
// userinfo, refresh with rotation, revocation — and the attacks that must fail. And the
// same third-party flow in Chromium, where the consent page's CSP applies.
describe('OpenID Connect provider with openid-client', () => {
  let tmp: string;
  let env: Record<string, string>;
  let server: RunningRose;
  let site: string;
  let part: string;
  let clientId: string;
  let config: client.Configuration;
  const redirectUri = 'http://127.0.0.1:9/callback';
  let browser: Browser;
  let app: Awaited<ReturnType<typeof startClientApp>>;
  let cider: client.Configuration;

  beforeAll(async () => {
    tmp = await makeProjectTempDir('oidc');
    const port = await freePort();
    site = `http://127.0.0.1:${port}`;
    // A part served on a second host name (localhost), signing in through the provider.
    part = `http://localhost:${port}`;
    // The demo site, migrated, seeded and built once per checkout state (shared by e2e files).
    env = { ...(await copyBuiltSite(tmp)), ROSE_SITE_URL: site, ROSE_PART_ORIGINS: part };
    const user = await runRose(['users', 'create', '--email', 'eve@example.org', '--name', 'Eve Grower', '--password-stdin'], env, { stdin: password });
    if (user.code !== 0) throw new Error(user.stderr);
    const added = await runRose(['oauth', 'clients', 'add', '--name', 'Seed Swap App', '--redirect-uri', redirectUri], env);
    clientId = /client_id: (\S+)/.exec(added.stdout)![1]!;
    // A confidential third-party app with a web server of its own, for the browser.
    app = await startClientApp();
    const ciderAdded = await runRose(['oauth', 'clients', 'add', '--name', 'Cider Club', '--confidential', '--redirect-uri', app.redirectUri], env);
    if (ciderAdded.code !== 0) throw new Error(ciderAdded.stderr);
    const ciderId = /client_id: (\S+)/.exec(ciderAdded.stdout)![1]!;
    const ciderSecret = /client_secret: (\S+)/.exec(ciderAdded.stdout)![1]!;
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
    config = await client.discovery(new URL(`${site}/auth`), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
    cider = await client.discovery(new URL(`${site}/auth`), ciderId, undefined, client.ClientSecretBasic(ciderSecret), { execute: [client.allowInsecureRequests] });
    browser = await launchBrowser();
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await server?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  /** Runs the browser side: sign in to the site, authorize, consent; returns the callback URL. */
  async function authorize(params: Record<string, string>, opts: { consent?: 'allow' | 'deny'; jar?: Jar; start?: URL } = {}): Promise<URL> {
    const jar = opts.jar ?? new Jar();
    if (!jar.cookies.has('rose_session')) {
      const login = await fetch(`${site}/auth/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: site }, body: new URLSearchParams({ email: 'eve@example.org', password }) });
      expect(login.status).toBe(303);
      jar.store(login);
    }
    let url = (opts.start ?? client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid email profile', ...params })).toString();
    for (let hop = 0; hop < 12; hop++) {
      if (url.startsWith(redirectUri)) return new URL(url);
      let res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.store(res);
      if (res.status === 200 && (res.headers.get('content-type') ?? '').includes('text/html') && url.includes('/auth/interaction/')) {
        expect(await res.text()).toContain('Seed Swap App');
        const action = `${url.replace(/\/$/, '')}/${opts.consent === 'deny' ? 'abort' : 'confirm'}`;
        res = await fetch(action, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), origin: site } });
        jar.store(res);
      }
      const location = res.headers.get('location');
      if (!location) throw new Error(`stuck at ${url}: ${res.status} ${await res.text()}`);
      url = new URL(location, url).toString();
    }
    throw new Error('too many redirects');
  }

  it('publishes discovery and keys: code flow only, PKCE S256 only, iss in responses', async () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(`${site}/auth`);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    // The client authentications our clients are registered with, and no others.
    expect(meta.token_endpoint_auth_methods_supported).toEqual(['none', 'client_secret_basic']);
    const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(JSON.stringify(jwks)).not.toMatch(/"d":/); // public keys only
  });

  it('runs the whole code + PKCE flow: tokens, id_token, userinfo, refresh with rotation, revocation', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const callback = await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce, scope: 'openid email profile offline_access', prompt: 'consent' });
    expect(callback.searchParams.get('iss')).toBe(`${site}/auth`);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    const claims = tokens.claims()!;
    // Profile claims come from userinfo when an access token is issued (conformIdTokenClaims).
    expect(claims).toMatchObject({ iss: `${site}/auth`, aud: clientId, nonce });
    expect(typeof claims.sub).toBe('string');
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: 'eve@example.org', name: 'Eve Grower' });
    expect(tokens.refresh_token).toBeDefined();
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token); // rotated
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' }); // reuse refused
    // Reuse revokes the family: the rotated token is dead too.
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await client.tokenRevocation(config, tokens.access_token);
    await expect(client.fetchUserInfo(config, tokens.access_token, claims.sub)).rejects.toThrow();
  });

  it('refuses a wrong redirect_uri, missing PKCE and plain PKCE before asking anyone to log in', async () => {
    const base = { client_id: clientId, response_type: 'code', scope: 'openid', state: 's' };
    const attempt = async (params: Record<string, string>) => {
      const res = await fetch(`${site}/auth/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
      return { status: res.status, location: res.headers.get('location') ?? '', body: res.status === 200 || res.status === 400 ? await res.text() : '' };
    };
    const wrongRedirect = await attempt({ ...base, redirect_uri: 'http://127.0.0.1:9/elsewhere', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.location).toBe('');
    const extra = await attempt({ ...base, redirect_uri: `${redirectUri}?next=/elsewhere`, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    expect(extra.status).toBe(400); // exact match only: no extra query
    expect(extra.location).toBe('');
    const noPkce = await attempt({ ...base, redirect_uri: redirectUri });
    expect(noPkce.location).toContain('error=invalid_request');
    const plain = await attempt({ ...base, redirect_uri: redirectUri, code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' });
    expect(plain.location).toContain('error=invalid_request');
  });

  it('refuses a wrong code_verifier, and a reused code (revoking the tokens of its first use)', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const callback = await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
    await expect(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state })).rejects.toMatchObject({ error: 'invalid_grant' });
    const first = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const sub = first.claims()!.sub;
    expect((await client.fetchUserInfo(config, first.access_token, sub)).sub).toBe(sub);
    // Reusing the code fails, and revokes what the first use issued.
    await expect(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.fetchUserInfo(config, first.access_token, sub)).rejects.toThrow();
  });

  it('lists the app under connected apps, and revoking it ends its access', async () => {
    const jar = new Jar();
    const verifier = client.randomPKCECodeVerifier();
    const callback = await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'c' }, { jar });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'c' });
    const page = await (await fetch(`${site}/account/`, { headers: { cookie: jar.header() } })).text();
    expect(page).toContain('Seed Swap App');
    const grant = /name="grant" value="([^"]+)"/.exec(page)![1]!;
    const revoke = await fetch(`${site}/account/`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), origin: site, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ action: 'revoke-app', grant }) });
    expect(await revoke.text()).toContain('can no longer use your account');
    await expect(client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).rejects.toThrow();
  });

  it('single sign-on: signed in on one host, a part on another host signs in without typing, and signing out ends both', async () => {
    const port = new URL(site).port;
    const jars = new Map<string, Jar>([['127.0.0.1', new Jar()], ['localhost', new Jar()]]);
    const jarFor = (url: string) => jars.get(new URL(url).hostname)!;
    /** Follows redirects across both hosts like a browser, each host with its own cookies. */
    const browse = async (start: string, init: RequestInit = {}) => {
      let url = start;
      let res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jarFor(url).header() } });
      jarFor(url).store(res);
      for (let hop = 0; hop < 15 && res.headers.get('location'); hop++) {
        url = new URL(res.headers.get('location')!, url).toString();
        res = await fetch(url, { redirect: 'manual', headers: { cookie: jarFor(url).header() } });
        jarFor(url).store(res);
      }
      return { url, res };
    };
    // Signed in on the provider's host only.
    await browse(`${site}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: site }, body: new URLSearchParams({ email: 'eve@example.org', password }).toString() });
    expect(jars.get('127.0.0.1')!.cookies.has('rose_session')).toBe(true);
    expect(jars.get('localhost')!.cookies.has('rose_session')).toBe(false);

    const part = `http://localhost:${port}`;
    const visit = await browse(`${part}/account/`);
    expect(visit.url).toBe(`${part}/account/`);
    expect(await visit.res.text()).toContain('<strong>Eve Grower</strong>');
    // Its own host-only cookie, a different session from the provider host's.
    const localToken = jars.get('localhost')!.cookies.get('rose_session');
    expect(localToken).toMatch(/^[a-z2-7]{32}$/);
    expect(localToken).not.toBe(jars.get('127.0.0.1')!.cookies.get('rose_session'));

    // A forged callback (state not from this browser) is refused.
    const forged = await fetch(`${part}/auth/sso/callback?code=abc&state=not-mine`, { redirect: 'manual', headers: { cookie: jarFor(part).header() } });
    expect(forged.status).toBe(400);

    // Sign out everywhere on the part: the provider's host is signed out too, and the
    // next visit to the part does not sign in silently.
    const out = await browse(`${part}/account/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: part }, body: new URLSearchParams({ action: 'sign-out-everywhere' }).toString() });
    expect(out.url).toContain('/auth/');
    expect((await fetch(`${site}/account/`, { redirect: 'manual', headers: { cookie: jarFor(site).header() } })).status).toBe(303);
    const again = await browse(`${part}/account/`);
    expect(again.url).toMatch(new RegExp(`^${site}/auth/login`));
  });

  it('RP-initiated logout at the provider signs the user out of the site on every host (back-channel)', async () => {
    const jar = new Jar();
    const verifier = client.randomPKCECodeVerifier();
    const callback = await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'l' }, { jar });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'l' });
    expect((await fetch(`${site}/account/`, { redirect: 'manual', headers: { cookie: jar.header() } })).status).toBe(200);
    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! });
    const confirmPage = await fetch(logoutUrl, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(confirmPage);
    const html = await confirmPage.text();
    expect(html).toContain('Sign out of');
    const action = /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"/.exec(html)?.[1] ?? /action="([^"]+)"[^>]*id="op.logoutForm"/.exec(html)![1]!;
    const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const done = await fetch(new URL(action, site), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: site },
      body: new URLSearchParams({ ...fields, logout: 'yes' }),
    });
    expect([200, 302, 303]).toContain(done.status);
    await expect.poll(async () => (await fetch(`${site}/account/`, { redirect: 'manual', headers: { cookie: jar.header() } })).status, { timeout: 5_000 }).toBe(303);
  });

  it('a back-channel logout with a forged token is refused', async () => {
    const res = await fetch(`${site}/auth/sso/backchannel`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }) });
    expect(res.status).toBe(400);
  });

  it('prompt=none answers login_required without a provider session, and signs in silently with one', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const params = { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'n', prompt: 'none' };
    const cold = await fetch(client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', ...params }), { redirect: 'manual' });
    expect(new URL(cold.headers.get('location')!).searchParams.get('error')).toBe('login_required');
    // After one interactive sign-in the provider has a session: prompt=none then just works.
    const jar = new Jar();
    await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'w' }, { jar });
    const warm = await authorize(params, { jar });
    expect(warm.searchParams.get('code')).toBeTruthy();
    expect(warm.searchParams.get('error')).toBeNull();
  });

  it('a user who declines consent sends the app away with access_denied', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const callback = await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'd', prompt: 'consent' }, { consent: 'deny' });
    expect(callback.searchParams.get('error')).toBe('access_denied');
  });
  it('answers every endpoint discovery advertises, on the configured origin', async () => {
    const meta = (await (await fetch(`${site}/auth/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const endpoints = Object.entries(meta).filter(([key, value]) => (key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string') as [string, string][];
    expect(endpoints.map(([key]) => key).sort()).toEqual(['authorization_endpoint', 'end_session_endpoint', 'jwks_uri', 'pushed_authorization_request_endpoint', 'revocation_endpoint', 'token_endpoint', 'userinfo_endpoint']);
    // Each with the method its specification uses, and without the parameters: an error, but not "no such page".
    const posted = new Set(['token_endpoint', 'revocation_endpoint', 'pushed_authorization_request_endpoint']);
    for (const [key, url] of endpoints) {
      expect(url, key).toMatch(new RegExp(`^${site}/auth/`));
      const method = posted.has(key) ? 'POST' : 'GET';
      const res = await fetch(url, { method, redirect: 'manual', headers: method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}, body: method === 'POST' ? '' : undefined });
      expect(res.status, `${method} ${key} ${url}`).not.toBe(404);
      expect(res.status, `${method} ${key} ${url}`).toBeLessThan(500);
    }
  });

  it('pushed authorization requests: the app pushes its parameters, the browser carries only a request_uri', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const start = await client.buildAuthorizationUrlWithPAR(config, { redirect_uri: redirectUri, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'p' });
    expect([...start.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    const callback = await authorize({}, { start });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'p' });
    expect((await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).email).toBe('eve@example.org');
  });

  it('DPoP: tokens bound to the app\'s key are refused without its proof', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
    const callback = await authorize({ code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'b' });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'b' }, undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const sub = tokens.claims()!.sub;
    expect((await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP })).sub).toBe(sub);
    const stolen = await fetch(config.serverMetadata().userinfo_endpoint!, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(stolen.status).toBe(401);
  });

  it('builds discovery from the configured origin, whatever Host or X-Forwarded-Host a request forges', async () => {
    const discovery = `${site}/auth/.well-known/openid-configuration`;
    // The right Host, forged forwarded headers (no trusted proxy is configured): ignored.
    const forwarded = await rawRequest(discovery, { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    expect(forwarded.status).toBe(200);
    const meta = JSON.parse(forwarded.body) as Record<string, string>;
    expect(meta.issuer).toBe(`${site}/auth`);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint', 'pushed_authorization_request_endpoint']) expect(meta[key], key).toMatch(new RegExp(`^${site}/auth/`));
    expect(forwarded.body).not.toContain('evil.example');
    // A forged Host: sent to the configured origin, never answered with a discovery naming it.
    for (const headers of [{ host: 'evil.example' }, { host: 'evil.example', 'x-forwarded-host': 'evil.example' }] as Record<string, string>[]) {
      const forged = await rawRequest(discovery, { headers });
      expect(forged.status).toBe(308);
      expect(forged.headers.location).toBe(discovery);
      expect(forged.body).not.toContain('"issuer"');
    }
  });

  it('sign-in, account and provider pages reached on another origin redirect to ROSE_SITE_URL; never a 503', async () => {
    const port = new URL(site).port;
    // `rose serve --port N` behind a port forward, or another name for this machine.
    for (const host of [`localhost:${Number(port) + 1}`, `coop.lan:${port}`]) {
      for (const pathname of ['/auth/login?return_to=%2Fblog%2F', '/auth/sso/start?return_to=%2Fblog%2F', '/account/', '/auth/authorize?client_id=x', '/auth/interaction/abcdefghijkl']) {
        const res = await rawRequest(`${site}${pathname}`, { headers: { host } });
        expect(res.status, `${host}${pathname}`).toBe(308);
        expect(res.headers.location).toBe(`${site}${pathname}`);
      }
      const post = await rawRequest(`${site}/auth/login`, { method: 'POST', headers: { host, origin: `http://${host}`, 'content-type': 'application/x-www-form-urlencoded' } });
      expect(post.status).toBe(421);
      expect(post.body).toContain(site);
      expect(post.body).not.toMatch(/\brose |npx|--/);
    }
    // The part's own host keeps its single sign-on; the provider itself lives on the site's origin.
    const sso = await rawRequest(`${site}/auth/sso/start?return_to=%2Fblog%2F`, { headers: { host: new URL(part).host } });
    expect(sso.status).toBe(302);
    expect(sso.headers.location).toMatch(new RegExp(`^${site}/auth/authorize\\?`));
    const providerOnPart = await rawRequest(`${site}/auth/.well-known/openid-configuration`, { headers: { host: new URL(part).host } });
    expect(providerOnPart.status).toBe(308);
  });

  describe('a third-party app in Chromium', () => {
    async function startAtApp(opts: { state: string; nonce?: string; verifier: string }) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const blocked: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
      });
      page.on('requestfailed', (r) => blocked.push(`${r.url()}: ${r.failure()?.errorText}`));
      const url = client.buildAuthorizationUrl(cider, { redirect_uri: app.redirectUri, scope: 'openid email profile', code_challenge: await client.calculatePKCECodeChallenge(opts.verifier), code_challenge_method: 'S256', state: opts.state, ...(opts.nonce ? { nonce: opts.nonce } : {}) });
      await page.goto(url.toString());
      // Not signed in: the site's own sign-in form, then back to the consent page.
      await page.waitForURL(/\/auth\/login/);
      await page.fill('input[name=email]', 'eve@example.org');
      await page.fill('input[name=password]', password);
      const consent = page.waitForResponse((r) => /^\/auth\/interaction\/[^/]+$/.test(new URL(r.url()).pathname) && r.status() === 200);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Allow Cider Club?' }).waitFor();
      // Never framed; its forms may lead to the app's redirect URI (and nowhere else).
      const csp = (await consent).headers()['content-security-policy'];
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain(`form-action 'self' ${new URL(app.redirectUri).origin};`);
      return { context, page, blocked };
    }

    it('Allow: the code reaches the app, which exchanges it (client_secret_basic) and reads userinfo', async () => {
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const { context, page, blocked } = await startAtApp({ state: 'allow-1', nonce, verifier });
      const arrived = app.next(() => blocked.join('\n'));
      await page.getByRole('button', { name: 'Allow' }).click();
      const callback = await arrived;
      await page.getByTestId('app').waitFor();
      expect(page.url()).toMatch(new RegExp(`^${app.redirectUri}\\?`));
      expect(callback.searchParams.get('error')).toBeNull();
      expect(callback.searchParams.get('iss')).toBe(`${site}/auth`);
      const tokens = await client.authorizationCodeGrant(cider, callback, { pkceCodeVerifier: verifier, expectedState: 'allow-1', expectedNonce: nonce, idTokenExpected: true });
      const info = await client.fetchUserInfo(cider, tokens.access_token, tokens.claims()!.sub);
      expect(info).toMatchObject({ email: 'eve@example.org', email_verified: true, name: 'Eve Grower' });
      expect(blocked).toEqual([]);
      await context.close();
    });

    it('Deny: the app gets error=access_denied at its redirect URI', async () => {
      const verifier = client.randomPKCECodeVerifier();
      const { context, page, blocked } = await startAtApp({ state: 'deny-1', verifier });
      const arrived = app.next(() => blocked.join('\n'));
      await page.getByRole('button', { name: 'Deny' }).click();
      const callback = await arrived;
      await page.getByTestId('app').waitFor();
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('state')).toBe('deny-1');
      expect(callback.searchParams.get('code')).toBeNull();
      expect(blocked).toEqual([]);
      await context.close();
    });
  });
});
