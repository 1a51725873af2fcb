import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { addClient, ensurePartClients, listClients, redirectUriProblem, removeClient } from './clients.repository.ts';
import { createOidcAdapter } from './oidc-adapter.ts';
import { loadSigningKeys, rotateSigningKey } from './keys.ts';
import { verifyLogoutToken } from './sso-client.ts';
import { importJWK, SignJWT } from 'jose';

describe.each(databaseKinds)('OpenID provider storage on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('creates a signing key on first use and rotates it, keeping the old one published', async () => {
    const first = await loadSigningKeys(t.db);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(first[0]).toHaveProperty('d'); // private: the provider signs with it
    const { kid, retired } = await rotateSigningKey(t.db);
    expect(retired).toEqual([first[0]!.kid]);
    const after = await loadSigningKeys(t.db);
    expect(after.map((k) => k.kid)).toEqual([kid, first[0]!.kid]); // the new key signs first
  });

  it('stores, finds, consumes and revokes payloads by grant', async () => {
    const Adapter = createOidcAdapter(t.db);
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1', uid: 'u1', accountId: 'a' }, 60);
    expect(await codes.find('c1')).toMatchObject({ grantId: 'g1' });
    expect(await codes.findByUid('u1')).toMatchObject({ accountId: 'a' });
    await codes.consume('c1');
    expect((await codes.find('c1'))?.consumed).toBeTypeOf('number');
    await codes.upsert('expired', { grantId: 'g2' }, -1);
    expect(await codes.find('expired')).toBeUndefined();
    await codes.revokeByGrantId('g1');
    expect(await codes.find('c1')).toBeUndefined();
  });

  it('registers clients with exact, safe redirect URIs only', async () => {
    expect(redirectUriProblem('http://evil.example/cb')).toMatch(/https/);
    expect(redirectUriProblem('https://app.example/cb#x')).toMatch(/fragment/);
    expect(redirectUriProblem('https://*.example/cb')).toMatch(/wildcard/);
    expect((await addClient(t.db, { name: 'Bad', redirectUris: ['http://evil.example/cb'] })).ok).toBe(false);
    const added = await addClient(t.db, { name: 'Good', redirectUris: ['https://app.example/cb'], confidential: true });
    if (!added.ok) throw new Error('not added');
    expect(added.value.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const found = await new (createOidcAdapter(t.db))('Client').find(added.value.clientId);
    expect(found).toMatchObject({ client_id: added.value.clientId, redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_basic' });
    expect((await listClients(t.db)).map((c) => c.name)).toEqual(['Good']);
    expect(await removeClient(t.db, added.value.clientId)).toBe(true);
    expect(await removeClient(t.db, added.value.clientId)).toBe(false);
  });

  it('accepts only back-channel logout tokens signed by our provider for our own parts', async () => {
    const issuer = 'https://coop.example/auth';
    const part = await addClient(t.db, { name: 'Blog', redirectUris: ['https://blog.coop.example/auth/sso/callback'], firstParty: true });
    if (!part.ok) throw new Error('not added');
    const [jwk] = await loadSigningKeys(t.db);
    const key = await importJWK(jwk as never, 'RS256');
    const sign = (claims: Record<string, unknown>, aud = part.value.clientId) =>
      new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: String(jwk!.kid), typ: 'logout+jwt' })
        .setIssuer(issuer)
        .setAudience(aud)
        .setIssuedAt()
        .setJti('j1')
        .sign(key);
    expect(await verifyLogoutToken(t.db, issuer, await sign({ sub: 'user-1' }))).toEqual({ ok: true, value: { sub: 'user-1' } });
    expect((await verifyLogoutToken(t.db, issuer, await sign({ sub: 'user-1' }, 'someone-else'))).ok).toBe(false);
    expect((await verifyLogoutToken(t.db, issuer, await sign({ sub: 'user-1', nonce: 'n' }))).ok).toBe(false);
    expect((await verifyLogoutToken(t.db, 'https://evil.example/auth', await sign({ sub: 'user-1' }))).ok).toBe(false);
    const token = await sign({ sub: 'user-1' });
    expect((await verifyLogoutToken(t.db, issuer, `${token.slice(0, -4)}AAAA`)).ok).toBe(false);
  });

  it('registers our parts on other hosts as first-party clients once', async () => {
    expect(await ensurePartClients(t.db, ['https://market.coop.example'])).toEqual(['https://market.coop.example']);
    expect(await ensurePartClients(t.db, ['https://market.coop.example'])).toEqual([]);
    const market = (await listClients(t.db)).find((c) => c.name === 'market.coop.example')!;
    expect(market).toMatchObject({ firstParty: true, confidential: false, redirectUris: ['https://market.coop.example/auth/sso/callback'] });
  });
});
