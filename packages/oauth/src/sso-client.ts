import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';
import { sql, type Kysely } from 'kysely';
import * as oidc from 'openid-client';
import { err, linkPaths, ok, type Result } from '@rose/core';
import type { Database } from '@rose/db';
import { loadSigningKeys } from './keys.ts';

/**
 * The relying-party side each part uses for single sign-on when it is served on its own
 * host: the part is a first-party client of our provider, its own session stays a
 * host-only cookie (as in the original platform, for Safari ITP).
 */
export interface SsoStart {
  authorizationUrl: string;
  /** Keep in a short-lived HttpOnly cookie on the part's host; needed by the callback. */
  state: SsoState;
}
export interface SsoState {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  clientId: string;
}
export type SsoError =
  | { type: 'no-client'; origin: string }
  | { type: 'state-mismatch' }
  | { type: 'denied'; error: string }
  | { type: 'invalid-response'; message: string };

export interface SsoClient {
  start(origin: string, returnTo: string): Promise<Result<SsoStart, SsoError>>;
  /** Verifies state, exchanges the code with PKCE, validates the id_token; returns the subject. */
  finish(callbackUrl: URL, saved: SsoState | undefined): Promise<Result<{ sub: string }, SsoError>>;
}

export function createSsoClient(deps: { db: Kysely<Database>; issuer: string }): SsoClient {
  const configs = new Map<string, Promise<oidc.Configuration>>();
  const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(new URL(deps.issuer).hostname);
  const configFor = (clientId: string) => {
    let c = configs.get(clientId);
    if (!c) {
      // Plain http is only accepted for a provider on this machine (development, tests).
      c = oidc.discovery(new URL(deps.issuer), clientId, undefined, oidc.None(), loopback ? { execute: [oidc.allowInsecureRequests] } : {});
      c.catch(() => configs.delete(clientId));
      configs.set(clientId, c);
    }
    return c;
  };
  const clientFor = async (origin: string) => {
    const callback = new URL(linkPaths.auth.ssoCallback(), origin).toString();
    const row = await deps.db
      .selectFrom('oauth_clients')
      .select('client_id')
      .where('first_party', '=', true)
      .where(sql<boolean>`metadata->'redirect_uris' ? ${callback}`)
      .executeTakeFirst();
    return row ? { clientId: row.client_id, callback } : undefined;
  };
  return {
    async start(origin, returnTo) {
      const found = await clientFor(origin);
      if (!found) return err({ type: 'no-client', origin });
      const config = await configFor(found.clientId);
      const saved: SsoState = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), returnTo, clientId: found.clientId };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: found.callback,
        scope: 'openid email profile',
        state: saved.state,
        nonce: saved.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(saved.verifier),
        code_challenge_method: 'S256',
      });
      return ok({ authorizationUrl: url.toString(), state: saved });
    },
    async finish(callbackUrl, saved) {
      if (!saved || callbackUrl.searchParams.get('state') !== saved.state) return err({ type: 'state-mismatch' });
      const error = callbackUrl.searchParams.get('error');
      if (error) return err({ type: 'denied', error });
      try {
        const config = await configFor(saved.clientId);
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: saved.verifier, expectedState: saved.state, expectedNonce: saved.nonce, idTokenExpected: true });
        // openid-client trusts an id_token from the token endpoint on the strength of TLS
        // (OIDC Core 3.1.3.7 allows it); we check its signature against the provider's keys
        // as well, so a compromised hop cannot sign anybody in.
        let jwks = jwksCache.get(saved.clientId);
        if (!jwks) {
          jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
          jwksCache.set(saved.clientId, jwks);
        }
        const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: config.serverMetadata().issuer, audience: saved.clientId });
        const claims = tokens.claims()!;
        if (payload.sub !== claims.sub) throw new Error('id_token subject changed');
        return ok({ sub: claims.sub });
      } catch (e) {
        return err({ type: 'invalid-response', message: (e as Error).message });
      }
    },
  };
}

/**
 * Verifies an OpenID back-channel logout token sent to one of our parts: signed by our
 * provider (keys from the database), issued by it, for a first-party client, with the
 * logout event and no nonce. Returns the subject whose sessions must end.
 */
export async function verifyLogoutToken(db: Kysely<Database>, issuer: string, token: string): Promise<Result<{ sub: string }, { type: 'invalid-token'; message: string }>> {
  const publicKeys = (await loadSigningKeys(db)).map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }) => pub);
  const firstParty = (await db.selectFrom('oauth_clients').select('client_id').where('first_party', '=', true).execute()).map((c) => c.client_id);
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: publicKeys as never }), { issuer, audience: firstParty, maxTokenAge: '5m' });
    const events = payload.events as Record<string, unknown> | undefined;
    if (!events || typeof events['http://schemas.openid.net/event/backchannel-logout'] !== 'object') throw new Error('not a logout event');
    if ('nonce' in payload) throw new Error('a logout token has no nonce');
    if (typeof payload.sub !== 'string') throw new Error('no subject');
    return ok({ sub: payload.sub });
  } catch (e) {
    return err({ type: 'invalid-token', message: (e as Error).message });
  }
}
