import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryCache } from '@rose/cache';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { createAccounts, type Accounts } from './accounts.service.ts';
import { createMailer } from './mailer.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { createRateLimit } from './rate-limit.ts';
import { createSessions, sessionIdOf, type Sessions } from './session.service.ts';

const cheap = { N: 2 ** 10, r: 8, p: 1 }; // tests only: production uses 2^16

describe('password hashing', () => {
  it('verifies the right password only, with the parameters stored in the hash', async () => {
    const hash = await hashPassword('correct horse battery', cheap);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword(hash, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse batterY')).toBe(false);
    expect(await verifyPassword('garbage', 'x')).toBe(false);
    expect(await hashPassword('correct horse battery', cheap)).not.toBe(hash); // salted
  });
});

describe.each(databaseKinds)('accounts and sessions on %s', (kind) => {
  let t: TestDatabase;
  let accounts: Accounts;
  let sessions: Sessions;
  let mailDir: string;
  const clock = createFixedClock(new Date('2026-11-24T12:00:00Z'));
  const lastMail = async () => {
    const files = (await fs.readdir(path.join(mailDir, 'mail'))).sort();
    return fs.readFile(path.join(mailDir, 'mail', files.at(-1)!), 'utf8');
  };
  // Mail bodies are quoted-printable: undo soft line breaks and the escaped '='.
  const tokenIn = (mail: string) => /token=([a-z2-7]+)/.exec(mail.replace(/=\r?\n/g, '').replace(/=3D/g, '='))![1]!;

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    mailDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-mail-'));
    const cache = createMemoryCache({ clock });
    sessions = createSessions({ db: t.db, cache, clock });
    accounts = createAccounts({
      db: t.db,
      sessions,
      mailer: createMailer({ smtpUrl: undefined, from: 'Rose Ash <no-reply@localhost>', dataDir: mailDir, log: () => {} }),
      siteUrl: 'http://localhost:4321',
      loginLimitPerAccount: createRateLimit({ cache, name: 'login-account', limit: 5, windowSeconds: 900 }),
      loginLimitPerIp: createRateLimit({ cache, name: 'login-ip', limit: 50, windowSeconds: 900 }),
      clock,
      passwordCost: cheap,
    });
  });
  afterAll(() => t?.drop());

  it('signs up, refuses login until the address is verified, then logs in', async () => {
    expect(await accounts.signup({ email: 'Ann@Example.org', displayName: 'Ann', password: 'a sturdy passphrase' })).toEqual({ ok: true, value: undefined });
    const login = () => accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.0.0.1', userAgent: 'test' });
    expect(await login()).toEqual({ ok: false, error: { type: 'email-not-verified' } });
    const token = tokenIn(await lastMail());
    expect((await accounts.verifyEmail(token)).ok).toBe(true);
    expect(await accounts.verifyEmail(token)).toEqual({ ok: false, error: { type: 'invalid-token' } }); // single use
    const result = await login();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.user).toMatchObject({ email: 'Ann@Example.org', displayName: 'Ann', role: 'member' });
    // Only the hash of the token is stored.
    const stored = await t.db.selectFrom('sessions').select('id').execute();
    expect(stored.map((s) => s.id)).toEqual([sessionIdOf(result.value.token)]);
    expect(JSON.stringify(stored)).not.toContain(result.value.token);
  });

  it('does not reveal whether an address has an account', async () => {
    const again = await accounts.signup({ email: 'ann@example.org', displayName: 'Other', password: 'another passphrase' });
    expect(again).toEqual({ ok: true, value: undefined });
    expect(await lastMail()).toContain('already has an account');
    expect(await accounts.login({ email: 'nobody@example.org', password: 'whatever it is', ip: '10.0.0.1', userAgent: null })).toEqual({ ok: false, error: { type: 'invalid-credentials' } });
  });

  it('refuses bad input with a reason', async () => {
    expect(await accounts.signup({ email: 'not-an-email', displayName: 'X', password: 'a sturdy passphrase' })).toEqual({ ok: false, error: { type: 'invalid-email' } });
    expect(await accounts.signup({ email: 'bob@example.org', displayName: 'Bob', password: 'short' })).toEqual({ ok: false, error: { type: 'weak-password', message: 'Use at least 10 characters.' } });
  });

  it('validates, slides and revokes sessions', async () => {
    const login = await accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.0.0.2', userAgent: null });
    if (!login.ok) throw new Error('login failed');
    const { token } = login.value;
    expect((await sessions.validate(token))?.user.displayName).toBe('Ann');
    expect(await sessions.validate('x'.repeat(32))).toBeNull();
    clock.advance(20 * 24 * 3600 * 1000); // within the last 15 days: renewed
    const renewed = await sessions.validate(token);
    expect(renewed?.session.renewed).toBe(true);
    expect(renewed?.session.expiresAt.getTime()).toBe(clock.now().getTime() + 30 * 24 * 3600 * 1000);
    await sessions.invalidate(sessionIdOf(token));
    expect(await sessions.validate(token)).toBeNull(); // not served from the cache
    clock.advance(31 * 24 * 3600 * 1000);
  });

  it('stops a brute force at the account limit, even with the right password', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await accounts.login({ email: 'ann@example.org', password: `wrong guess ${i}!`, ip: `10.1.0.${i}`, userAgent: null })).ok).toBe(false);
    }
    expect(await accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.1.1.1', userAgent: null })).toEqual({
      ok: false,
      error: { type: 'rate-limited', retryAfterSeconds: 900 },
    });
  });
});
