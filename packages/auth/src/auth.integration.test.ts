import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryCache } from '@rose/cache';
import { createFixedClock } from '@rose/core';
import { createWorker } from '@rose/jobs';
import type { Mailer, MailMessage } from '@rose/mail';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { accountMailJobType, createAccountMailHandlers } from './account-mail.ts';
import { createAccounts, type Accounts, type PasswordHasher } from './accounts.service.ts';
import { hashPassword, isCommonPassword, passwordProblem, verifyPassword } from './password.ts';
import { createSessions, sessionIdOf, type Sessions } from './session.service.ts';

const cheap = { N: 2 ** 10, r: 8, p: 1 }; // tests only: production uses 2^16
const silent = { info: () => {}, warn: () => {}, error: () => {} };

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

describe('password rules', () => {
  const ann = { email: 'annabel.lee@example.org', name: 'Annabel Lee' };
  it('refuses the commonest passwords, whatever their case and the digits or symbols bolted on', () => {
    for (const p of ['password123', 'Password123', 'PASSWORD123!', 'qwertyuiop', '1234567890', 'sunshine2024', 'iloveyou!!!', 'basketball']) {
      expect(isCommonPassword(p), p).toBe(true);
      expect(passwordProblem(p, ann), p).toMatch(/most common/);
    }
    for (const p of ['Correct-Horse-Battery-42', 'a sturdy passphrase', 'tin kettle orchard 9']) expect(passwordProblem(p, ann), p).toBeUndefined();
  });
  it('refuses a password made of the email address or the name', () => {
    expect(passwordProblem('Annabel.Lee@example.org', ann)).toBe('Do not use your email address in the password.');
    expect(passwordProblem('x-annabel.lee-x', ann)).toBe('Do not use your email address in the password.');
    expect(passwordProblem('Annabel Lee 1849', ann)).toBe('Do not use your name in the password.');
    expect(passwordProblem('annabellee-1849', ann)).toBe('Do not use your name in the password.');
    expect(passwordProblem('Annabel-Lee', ann)).toBe('Do not use your name in the password.');
    expect(passwordProblem('2024 annabel lee', ann)).toBe('Do not use your name in the password.');
    expect(passwordProblem('another passphrase', { email: 'x@example.org', name: 'Other' })).toBeUndefined(); // only the name itself
    expect(passwordProblem('bo@x.org!bo@x.org', { email: 'bo@x.org' })).toBe('Do not use your email address in the password.');
  });
});

describe.each(databaseKinds)('accounts and sessions on %s', (kind) => {
  let t: TestDatabase;
  let accounts: Accounts;
  let sessions: Sessions;
  let sent: MailMessage[];
  let hashes: number;
  let wakes: number;
  const clock = createFixedClock(new Date('2026-11-24T12:00:00Z'));
  const mailer: Mailer = {
    kind: 'file',
    async send(mail) {
      sent.push(mail);
      return { messageId: `<${sent.length}@test.example>` };
    },
  };
  // Counts calls, hashes for real.
  const hasher: PasswordHasher = {
    hash: (p) => {
      hashes++;
      return hashPassword(p, cheap);
    },
    verify: verifyPassword,
  };
  let drainMail: () => Promise<number>;
  const tokenIn = (mail: MailMessage) => /token=([a-z2-7]+)/.exec(mail.text)![1]!;
  const mailJobs = async () =>
    (await t.db.selectFrom('jobs').select(['payload', 'status']).where('type', '=', accountMailJobType).orderBy('id').execute()).map((j) => ({ ...(j.payload as object), status: j.status }));

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    const cache = createMemoryCache({ clock });
    sessions = createSessions({ db: t.db, cache, clock });
    accounts = createAccounts({ db: t.db, sessions, cache, clock, passwords: hasher, onJobQueued: () => void wakes++ });
    // The worker runs on real time: jobs are due from the database's now().
    const worker = createWorker({
      db: t.db,
      logger: silent,
      handlers: createAccountMailHandlers({ db: t.db, mailer, siteUrl: 'http://localhost:4321', clock, siteName: async () => 'Taw Ashton Growers' }),
    });
    drainMail = () => worker.drain();
  });
  beforeEach(() => {
    sent = [];
    hashes = 0;
    wakes = 0;
  });
  afterAll(() => t?.drop());

  it('signs up; the mailed link is only used when posted (a preview or scanner GET uses nothing); then signs in', async () => {
    expect(await accounts.signup({ email: 'Ann@Example.org', displayName: 'Ann', password: 'a sturdy passphrase' })).toEqual({ ok: true, value: undefined });
    expect(sent).toEqual([]); // queued, not sent during the request
    expect(await drainMail()).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: 'Ann@Example.org', subject: 'Confirm your email address for Taw Ashton Growers' });
    expect(sent[0]!.text).toMatch(/^Welcome to Taw Ashton Growers, Ann!/);
    expect(sent[0]!.text).not.toMatch(/Welcome to localhost/);
    const login = () => accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.0.0.1', userAgent: 'test' });
    expect(await login()).toEqual({ ok: false, error: { type: 'email-not-verified' } });
    const token = tokenIn(sent[0]!);
    expect(await accounts.checkVerifyToken(token)).toEqual({ ok: true, value: { state: 'pending' } });
    expect(await accounts.checkVerifyToken(token)).toEqual({ ok: true, value: { state: 'pending' } }); // looking twice uses nothing
    expect(await login()).toEqual({ ok: false, error: { type: 'email-not-verified' } });
    expect(await accounts.verifyEmail(token)).toMatchObject({ ok: true, value: { alreadyConfirmed: false } });
    // Confirmed already: the link keeps saying so instead of failing.
    expect(await accounts.verifyEmail(token)).toMatchObject({ ok: true, value: { alreadyConfirmed: true } });
    expect(await accounts.checkVerifyToken(token)).toEqual({ ok: true, value: { state: 'confirmed' } });
    expect(await accounts.checkVerifyToken('a'.repeat(52))).toEqual({ ok: false, error: { type: 'invalid-token' } });
    const result = await login();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.user).toMatchObject({ email: 'Ann@Example.org', displayName: 'Ann', role: 'member' });
    // Only the hash of the token is stored.
    const stored = await t.db.selectFrom('sessions').select('id').execute();
    expect(stored.map((s) => s.id)).toEqual([sessionIdOf(result.value.token)]);
    expect(JSON.stringify(stored)).not.toContain(result.value.token);
    // No live link token ever sits in the outbox.
    expect(JSON.stringify(await mailJobs())).not.toContain(token);
  });

  it('an expired link of an address not yet confirmed says it expired', async () => {
    await accounts.signup({ email: 'late@example.org', displayName: 'Late', password: 'a sturdy passphrase' });
    await drainMail();
    const token = tokenIn(sent[0]!);
    clock.advance(25 * 3600 * 1000);
    expect(await accounts.checkVerifyToken(token)).toEqual({ ok: false, error: { type: 'expired-token' } });
    expect(await accounts.verifyEmail(token)).toEqual({ ok: false, error: { type: 'expired-token' } });
  });

  it('signup does the same work for a new and an existing address (hash, one queued mail) and answers the same', async () => {
    const before = (await mailJobs()).length;
    const fresh = await accounts.signup({ email: 'cara@example.org', displayName: 'Cara', password: 'another passphrase' });
    const afterFresh = { hashes, jobs: (await mailJobs()).length - before, wakes };
    const existing = await accounts.signup({ email: 'ANN@example.org', displayName: 'Other', password: 'another passphrase' });
    const afterExisting = { hashes: hashes - afterFresh.hashes, jobs: (await mailJobs()).length - before - afterFresh.jobs, wakes: wakes - afterFresh.wakes };
    expect(existing).toEqual(fresh);
    expect(afterFresh).toEqual({ hashes: 1, jobs: 1, wakes: 1 });
    expect(afterExisting).toEqual(afterFresh);
    expect((await mailJobs()).slice(-2).map((j) => (j as unknown as { kind: string }).kind)).toEqual(['verify-email', 'signup-existing']);
    await drainMail();
    const notice = sent.find((m) => m.to === 'Ann@Example.org')!;
    expect(notice.subject).toBe('Someone tried to sign up at Taw Ashton Growers with your address');
    expect(notice.text).toContain('already has one. Nothing was changed.');
    expect(notice.text).not.toMatch(/token=/);
    // An account never confirmed: its owner is pointed at a reset, which confirms too.
    await accounts.signup({ email: 'cara@example.org', displayName: 'Cara again', password: 'another passphrase' });
    sent = [];
    await drainMail();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toContain('whose address was never confirmed');
    expect(sent[0]!.text).toContain('http://localhost:4321/auth/reset');
    // The existing account keeps its password.
    expect((await accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.0.0.3', userAgent: null })).ok).toBe(true);
  });

  it('refuses bad input with a reason, weak passwords included, on every path that sets one', async () => {
    expect(await accounts.signup({ email: 'not-an-email', displayName: 'X', password: 'a sturdy passphrase' })).toEqual({ ok: false, error: { type: 'invalid-email' } });
    expect(await accounts.signup({ email: 'bob@example.org', displayName: 'Bob', password: 'short' })).toEqual({ ok: false, error: { type: 'weak-password', message: 'Use at least 10 characters.' } });
    expect(await accounts.signup({ email: 'bob@example.org', displayName: 'Bob', password: 'password123' })).toMatchObject({ ok: false, error: { type: 'weak-password' } });
    expect(await accounts.signup({ email: 'bob@example.org', displayName: 'Bobby Tables', password: 'bobby tables!' })).toEqual({ ok: false, error: { type: 'weak-password', message: 'Do not use your name in the password.' } });
    expect(await accounts.createUser({ email: 'dee@example.org', displayName: 'Dee', password: 'Password123!', role: 'member' })).toMatchObject({ ok: false, error: { type: 'weak-password' } });
    expect(hashes).toBe(0); // refused before any work
    const ann = await t.db.selectFrom('users').select('id').where('email', '=', 'Ann@Example.org').executeTakeFirstOrThrow();
    const change = await accounts.changePassword({ userId: ann.id, current: 'a sturdy passphrase', next: 'qwertyuiop', keepSessionId: 'none' });
    expect(change).toMatchObject({ ok: false, error: { type: 'weak-password' } });
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
    clock.set(new Date('2026-12-30T12:00:00Z')); // a fresh rate-limit window for the tests below
  });

  it("an attacker's wrong guesses from one address never stop the owner signing in from another", async () => {
    const guess = (i: number) => accounts.login({ email: 'ann@example.org', password: `wrong guess ${i}!`, ip: '10.1.0.1', userAgent: null });
    let last;
    for (let i = 0; i < 20; i++) last = await guess(i);
    expect(last).toEqual({ ok: false, error: { type: 'rate-limited', retryAfterSeconds: 15 * 60 } });
    const owner = await accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.1.0.2', userAgent: null });
    expect(owner.ok).toBe(true);
    // Even the right password from the attacker's address waits out its window.
    expect(await accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.1.0.1', userAgent: null })).toMatchObject({ ok: false, error: { type: 'rate-limited' } });
    clock.advance(15 * 60 * 1000);
    expect((await accounts.login({ email: 'ann@example.org', password: 'a sturdy passphrase', ip: '10.1.0.1', userAgent: null })).ok).toBe(true);
  });

  it('slows down (never locks) guessing one account from many addresses', async () => {
    clock.set(new Date('2026-12-31T12:00:00Z'));
    const attempt = (ip: string, password = 'not the password') => accounts.login({ email: 'ann@example.org', password, ip, userAgent: null });
    // Fresh addresses always get their password checked...
    for (let i = 0; i < 12; i++) expect(await attempt(`10.2.0.${i}`)).toEqual({ ok: false, error: { type: 'invalid-credentials' } });
    // ...but those that already failed get one try per growing delay between them: 12
    // failures, 6 past the 5 free ones, make it 2^6 = 64 s, capped at 30 s.
    expect(await attempt('10.2.0.1')).toEqual({ ok: false, error: { type: 'invalid-credentials' } });
    expect(await attempt('10.2.0.1')).toEqual({ ok: false, error: { type: 'rate-limited', retryAfterSeconds: 30 } });
    expect(await attempt('10.2.0.3')).toEqual({ ok: false, error: { type: 'rate-limited', retryAfterSeconds: 30 } });
    // The owner on a new address is not held back.
    expect((await attempt('10.2.9.9', 'a sturdy passphrase')).ok).toBe(true);
    clock.advance(30 * 1000);
    expect(await attempt('10.2.0.1')).toEqual({ ok: false, error: { type: 'invalid-credentials' } });
    expect(await attempt('10.2.0.2')).toEqual({ ok: false, error: { type: 'rate-limited', retryAfterSeconds: 30 } }); // one try per delay for the account
  });

  it('mails a reset link only to an address with an account, and the same answer either way', async () => {
    expect(await accounts.requestPasswordReset({ email: 'ann@example.org', ip: '10.3.0.1' })).toEqual({ ok: true, value: undefined });
    expect(await accounts.requestPasswordReset({ email: 'nobody@example.org', ip: '10.3.0.1' })).toEqual({ ok: true, value: undefined });
    expect(wakes).toBe(2);
    await drainMail();
    expect(sent.map((m) => [m.to, m.subject])).toEqual([['Ann@Example.org', 'Reset your password at Taw Ashton Growers']]);
    const token = tokenIn(sent[0]!);
    expect(await accounts.checkResetToken(token)).toEqual({ ok: true, value: undefined });
    expect(await accounts.resetPassword(token, 'password1234')).toMatchObject({ ok: false, error: { type: 'weak-password' } });
    expect((await accounts.resetPassword(token, 'a new sturdy passphrase')).ok).toBe(true);
    expect(await accounts.resetPassword(token, 'yet another passphrase')).toEqual({ ok: false, error: { type: 'invalid-token' } });
  });

  it('changes the email address by a link that only a POST uses, and tells a taken address nothing new', async () => {
    const ann = await t.db.selectFrom('users').select('id').where('email', '=', 'Ann@Example.org').executeTakeFirstOrThrow();
    expect(await accounts.requestEmailChange({ userId: ann.id, password: 'a new sturdy passphrase', newEmail: 'cara@example.org' })).toEqual({ ok: true, value: undefined });
    await drainMail();
    expect(sent.map((m) => [m.to, m.subject])).toEqual([['cara@example.org', 'An account at Taw Ashton Growers tried to move to your address']]);
    sent = [];
    expect(await accounts.requestEmailChange({ userId: ann.id, password: 'a new sturdy passphrase', newEmail: 'ann.new@example.org' })).toEqual({ ok: true, value: undefined });
    await drainMail();
    expect(sent.map((m) => m.to)).toEqual(['ann.new@example.org', 'Ann@Example.org']);
    const token = tokenIn(sent[0]!);
    expect(await accounts.checkEmailChange(token)).toEqual({ ok: true, value: { state: 'pending', email: 'ann.new@example.org' } });
    expect(await accounts.checkEmailChange(token)).toEqual({ ok: true, value: { state: 'pending', email: 'ann.new@example.org' } });
    expect(await accounts.confirmEmailChange(token)).toEqual({ ok: true, value: { userId: ann.id, email: 'ann.new@example.org' } });
    expect(await accounts.confirmEmailChange(token)).toEqual({ ok: true, value: { userId: ann.id, email: 'ann.new@example.org' } });
    expect(await accounts.checkEmailChange(token)).toEqual({ ok: true, value: { state: 'confirmed', email: 'ann.new@example.org' } });
  });

  it('keeps at least one admin: the last one cannot be demoted or removed, even by two demotions at once', async () => {
    expect((await accounts.createUser({ email: 'root@example.org', displayName: 'Root', password: 'a sturdy passphrase', role: 'admin' })).ok).toBe(true);
    expect(await accounts.setRole('root@example.org', 'member')).toEqual({ ok: false, error: { type: 'last-admin' } });
    expect(await accounts.setRole('nobody@example.org', 'member')).toEqual({ ok: false, error: { type: 'not-found' } });
    expect(await accounts.setRole('ROOT@example.org', 'admin')).toEqual({ ok: true, value: undefined }); // no change
    // Whatever else changes roles meets the database's guard.
    await expect(t.db.updateTable('users').set({ role: 'staff' }).where('role', '=', 'admin').execute()).rejects.toMatchObject({ code: 'RA001' });
    await expect(t.db.deleteFrom('users').where('email', '=', 'root@example.org').execute()).rejects.toMatchObject({ code: 'RA001' });
    expect((await accounts.createUser({ email: 'second@example.org', displayName: 'Second', password: 'a sturdy passphrase', role: 'admin' })).ok).toBe(true);
    const both = await Promise.all([accounts.setRole('root@example.org', 'staff'), accounts.setRole('second@example.org', 'member')]);
    expect(both.filter((r) => r.ok)).toHaveLength(1);
    expect(both.filter((r) => !r.ok)).toEqual([{ ok: false, error: { type: 'last-admin' } }]);
    const admins = await t.db.selectFrom('users').select('email').where('role', '=', 'admin').execute();
    expect(admins).toHaveLength(1);
  });
});
