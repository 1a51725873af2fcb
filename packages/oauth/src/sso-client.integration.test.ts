import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@rose/testing';
import { addClient } from './clients.repository.ts';
import { createSsoClient, type SsoClient } from './sso-client.ts';

// Our parts' relying-party side against a stand-in provider that can lie: the id_token it
// returns may be signed with a foreign key, expired, for another audience or nonce.
describe('single sign-on client: id_token checks', () => {
  let t: TestDatabase;
  let server: http.Server;
  let issuer: string;
  let sso: SsoClient;
  let clientId: string;
  let mode: 'valid' | 'foreign-key' | 'expired' | 'wrong-nonce' | 'wrong-audience' = 'valid';
  const part = 'http://127.0.0.1:9';
  let expectedNonce = '';

  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    const trusted = await generateKeyPair('RS256');
    const foreign = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(trusted.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = http.createServer(async (req, res) => {
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/.well-known/openid-configuration') {
        return json({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: ['S256'] });
      }
      if (req.url === '/jwks') return json({ keys: [jwk] });
      if (req.url === '/token') {
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({ nonce: mode === 'wrong-nonce' ? 'other' : expectedNonce })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(issuer)
          .setSubject('user-42')
          .setAudience(mode === 'wrong-audience' ? 'someone-else' : clientId)
          .setIssuedAt(mode === 'expired' ? now - 7200 : now)
          .setExpirationTime(mode === 'expired' ? now - 3600 : now + 300)
          .sign(mode === 'foreign-key' ? foreign.privateKey : trusted.privateKey);
        return json({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const added = await addClient(t.db, { name: 'Part', redirectUris: [`${part}/auth/sso/callback`], firstParty: true });
    if (!added.ok) throw new Error('client');
    clientId = added.value.clientId;
    sso = createSsoClient({ db: t.db, issuer });
  });
  afterAll(async () => {
    server?.close();
    await t?.drop();
  });

  const run = async () => {
    const started = await sso.start(part, '/account/');
    if (!started.ok) throw new Error(started.error.type);
    expectedNonce = started.value.state.nonce;
    const callback = new URL(`${part}/auth/sso/callback?code=the-code&state=${started.value.state.state}`);
    return sso.finish(callback, started.value.state);
  };

  it('accepts a genuine id_token', async () => {
    mode = 'valid';
    expect(await run()).toEqual({ ok: true, value: { sub: 'user-42' } });
  });

  it.each(['foreign-key', 'expired', 'wrong-nonce', 'wrong-audience'] as const)('refuses an id_token that is %s', async (m) => {
    mode = m;
    const result = await run();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.type).toBe('invalid-response');
  });

  it('refuses a callback whose state is not the one it sent', async () => {
    mode = 'valid';
    const started = await sso.start(part, '/account/');
    if (!started.ok) throw new Error(started.error.type);
    expect(await sso.finish(new URL(`${part}/auth/sso/callback?code=c&state=forged`), started.value.state)).toEqual({ ok: false, error: { type: 'state-mismatch' } });
    expect(await sso.finish(new URL(`${part}/auth/sso/callback?code=c&state=${started.value.state.state}`), undefined)).toEqual({ ok: false, error: { type: 'state-mismatch' } });
  });
});
