import type { Kysely } from 'kysely';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { z } from 'zod';
import { err, ok, systemClock, type Clock, type Result } from '@rose/core';
import type { Database, UserRole } from '@rose/db';
import type { Mailer } from './mailer.ts';
import { defaultPasswordCost, hashPassword, passwordProblem, verifyPassword, type PasswordCost } from './password.ts';
import type { RateLimit } from './rate-limit.ts';
import { generateSessionToken, type Sessions, type SessionUser, type ValidSession } from './session.service.ts';

const VERIFY_TTL_MS = 24 * 3600 * 1000;
const emailSchema = z.email();

export type SignupError = { type: 'invalid-email' } | { type: 'weak-password'; message: string } | { type: 'invalid-name' };
export type VerifyError = { type: 'invalid-token' } | { type: 'expired-token' };
export type LoginError = { type: 'invalid-credentials' } | { type: 'email-not-verified' } | { type: 'rate-limited'; retryAfterSeconds: number };
export type ResetError = { type: 'invalid-token' } | { type: 'expired-token' } | { type: 'weak-password'; message: string };
export type ChangePasswordError = { type: 'wrong-password' } | { type: 'weak-password'; message: string } | { type: 'rate-limited'; retryAfterSeconds: number };

export interface Accounts {
  /**
   * Creates an unverified account and mails a verification link. An address that already
   * has an account gets a notice instead, and the caller cannot tell the two apart (no
   * account enumeration).
   */
  signup(input: { email: string; displayName: string; password: string }): Promise<Result<void, SignupError>>;
  verifyEmail(token: string): Promise<Result<{ userId: string }, VerifyError>>;
  login(input: { email: string; password: string; ip: string; userAgent: string | null }): Promise<Result<{ token: string; session: ValidSession; user: SessionUser }, LoginError>>;
  /**
   * Mails a single-use reset link (valid 1 hour) when the address has an account; says
   * nothing either way. Rate-limited per address and per IP.
   */
  requestPasswordReset(input: { email: string; ip: string }): Promise<Result<void, { type: 'rate-limited'; retryAfterSeconds: number }>>;
  /** Sets a new password from a reset link, confirms the address, and signs out every device. */
  resetPassword(token: string, password: string): Promise<Result<{ userId: string }, ResetError>>;
  /** Checks a reset link without using it (to show the form or an error). */
  checkResetToken(token: string): Promise<Result<void, { type: 'invalid-token' } | { type: 'expired-token' }>>;
  /** Needs the current password; signs out every other device. */
  changePassword(input: { userId: string; current: string; next: string; keepSessionId: string }): Promise<Result<void, ChangePasswordError>>;
  /**
   * Needs the current password. Mails a confirmation link (24 h) to the new address and a
   * notice to the old one; the address changes only when the link is opened.
   */
  requestEmailChange(input: { userId: string; password: string; newEmail: string }): Promise<Result<void, { type: 'wrong-password' } | { type: 'invalid-email' } | { type: 'same-email' }>>;
  confirmEmailChange(token: string): Promise<Result<{ userId: string; email: string }, { type: 'invalid-token' } | { type: 'expired-token' } | { type: 'email-taken' }>>;
  /** Staff/CLI: a verified account with a password. */
  createUser(input: { email: string; displayName: string; password: string; role: UserRole }): Promise<Result<{ userId: string }, SignupError | { type: 'email-taken' }>>;
  setRole(email: string, role: UserRole): Promise<Result<void, { type: 'not-found' }>>;
  list(): Promise<{ id: string; email: string; displayName: string; role: UserRole; verified: boolean; createdAt: Date }[]>;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function createAccounts(deps: {
  db: Kysely<Database>;
  sessions: Sessions;
  mailer: Mailer;
  siteUrl: string;
  loginLimitPerAccount: RateLimit;
  loginLimitPerIp: RateLimit;
  /** Reset requests; defaults to the login limits. */
  resetLimitPerAccount?: RateLimit;
  resetLimitPerIp?: RateLimit;
  clock?: Clock;
  passwordCost?: PasswordCost;
}): Accounts {
  const clock = deps.clock ?? systemClock;
  const cost = deps.passwordCost ?? defaultPasswordCost;
  // Verifying against this when the account does not exist keeps the timing the same.
  const dummyHash = hashPassword('not a real password, only for timing', cost);

  const findByEmail = (email: string) =>
    deps.db.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['email']), '=', normaliseEmail(email))).executeTakeFirst();

  const validate = (input: { email: string; displayName: string; password: string }): SignupError | undefined => {
    if (!emailSchema.safeParse(input.email.trim()).success || input.email.length > 254) return { type: 'invalid-email' };
    const name = input.displayName.trim();
    if (name.length < 1 || name.length > 100) return { type: 'invalid-name' };
    const problem = passwordProblem(input.password, input.email);
    return problem ? { type: 'weak-password', message: problem } : undefined;
  };

  const issueToken = async (userId: string, kind: 'verify-email' | 'reset-password' | 'change-email', ttlMs: number, newEmail: string | null = null) => {
    const bytes = new Uint8Array(32);
    crypto.getRandomValues(bytes);
    const token = encodeBase32LowerCaseNoPadding(bytes);
    await deps.db
      .insertInto('email_tokens')
      .values({ id: encodeHexLowerCase(sha256(new TextEncoder().encode(token))), user_id: userId, kind, new_email: newEmail, expires_at: new Date(clock.now().getTime() + ttlMs) })
      .execute();
    return token;
  };

  const tokenId = (token: string) => encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
  const findToken = async (db: Kysely<Database>, token: string, kind: 'verify-email' | 'reset-password' | 'change-email') => {
    if (!/^[a-z2-7]{52}$/.test(token)) return err({ type: 'invalid-token' as const });
    const row = await db.selectFrom('email_tokens').selectAll().where('id', '=', tokenId(token)).where('kind', '=', kind).executeTakeFirst();
    if (!row || row.used_at) return err({ type: 'invalid-token' as const });
    if (row.expires_at <= clock.now()) return err({ type: 'expired-token' as const });
    return ok(row);
  };
  const resetLimits = [deps.resetLimitPerIp ?? deps.loginLimitPerIp, deps.resetLimitPerAccount ?? deps.loginLimitPerAccount] as const;

  return {
    async requestPasswordReset(input) {
      const account = normaliseEmail(input.email);
      for (const [limit, key] of [
        [resetLimits[0], `reset:${input.ip}`],
        [resetLimits[1], `reset:${account}`],
      ] as const) {
        const hit = await limit.hit(key);
        if (!hit.ok) return err({ type: 'rate-limited', retryAfterSeconds: hit.retryAfterSeconds });
      }
      const user = await findByEmail(account);
      if (user) {
        const token = await issueToken(user.id, 'reset-password', 3600 * 1000);
        await deps.mailer.send({
          to: user.email,
          subject: 'Reset your password',
          text: `Someone (hopefully you) asked to reset the password of your account at ${new URL(deps.siteUrl).host}.\n\nChoose a new password within the hour:\n${new URL(`/auth/reset/confirm?token=${token}`, deps.siteUrl)}\n\nIf it was not you, ignore this message; your password stays as it is.\n`,
        });
      }
      return ok(undefined);
    },

    async checkResetToken(token) {
      const found = await findToken(deps.db, token, 'reset-password');
      return found.ok ? ok(undefined) : found;
    },

    async resetPassword(token, password) {
      const found = await findToken(deps.db, token, 'reset-password');
      if (!found.ok) return found;
      const user = await deps.db.selectFrom('users').select(['id', 'email']).where('id', '=', found.value.user_id).executeTakeFirstOrThrow();
      const problem = passwordProblem(password, user.email);
      if (problem) return err({ type: 'weak-password', message: problem });
      const hash = await hashPassword(password, cost);
      const used = await deps.db.transaction().execute(async (trx) => {
        // Single use even when two requests race: only one update finds it unused.
        const claimed = await trx.updateTable('email_tokens').set({ used_at: clock.now() }).where('id', '=', found.value.id).where('used_at', 'is', null).executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) return false;
        await trx.updateTable('users').set({ password_hash: hash, email_verified_at: clock.now(), updated_at: clock.now() }).where('id', '=', user.id).execute();
        return true;
      });
      if (!used) return err({ type: 'invalid-token' });
      await deps.sessions.invalidateAllForUser(user.id);
      return ok({ userId: user.id });
    },

    async requestEmailChange(input) {
      const newEmail = input.newEmail.trim();
      if (!emailSchema.safeParse(newEmail).success || newEmail.length > 254) return err({ type: 'invalid-email' });
      const user = await deps.db.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', '=', input.userId).executeTakeFirstOrThrow();
      if (!user.password_hash || !(await verifyPassword(user.password_hash, input.password))) return err({ type: 'wrong-password' });
      if (normaliseEmail(newEmail) === normaliseEmail(user.email)) return err({ type: 'same-email' });
      if (await findByEmail(newEmail)) {
        // Do not reveal other accounts: the owner of that address hears about it instead.
        await deps.mailer.send({ to: newEmail, subject: 'An account tried to move to your address', text: `Someone asked to move an account at ${new URL(deps.siteUrl).host} to this address, which already has an account. Nothing was changed.\n` });
        return ok(undefined);
      }
      const token = await issueToken(user.id, 'change-email', VERIFY_TTL_MS, newEmail);
      await deps.mailer.send({
        to: newEmail,
        subject: 'Confirm your new email address',
        text: `Open this link within 24 hours to use this address for your account at ${new URL(deps.siteUrl).host}:\n${new URL(`/auth/email-change?token=${token}`, deps.siteUrl)}\n`,
      });
      await deps.mailer.send({
        to: user.email,
        subject: 'Your email address is about to change',
        text: `Someone signed in to your account asked to change its address to ${newEmail}. It changes only when the link sent there is opened.\nIf this was not you, change your password now: ${new URL('/auth/reset', deps.siteUrl)}\n`,
      });
      return ok(undefined);
    },

    async confirmEmailChange(token) {
      const found = await findToken(deps.db, token, 'change-email');
      if (!found.ok) return found;
      const newEmail = found.value.new_email!;
      if (await findByEmail(newEmail)) return err({ type: 'email-taken' });
      const changed = await deps.db.transaction().execute(async (trx) => {
        const claimed = await trx.updateTable('email_tokens').set({ used_at: clock.now() }).where('id', '=', found.value.id).where('used_at', 'is', null).executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) return false;
        await trx.updateTable('users').set({ email: newEmail, email_verified_at: clock.now(), updated_at: clock.now() }).where('id', '=', found.value.user_id).execute();
        return true;
      });
      if (!changed) return err({ type: 'invalid-token' });
      await deps.sessions.refreshUser(found.value.user_id);
      return ok({ userId: found.value.user_id, email: newEmail });
    },

    async changePassword(input) {
      const hit = await deps.loginLimitPerAccount.hit(`change:${input.userId}`);
      if (!hit.ok) return err({ type: 'rate-limited', retryAfterSeconds: hit.retryAfterSeconds });
      const user = await deps.db.selectFrom('users').select(['id', 'email', 'password_hash']).where('id', '=', input.userId).executeTakeFirstOrThrow();
      if (!user.password_hash || !(await verifyPassword(user.password_hash, input.current))) return err({ type: 'wrong-password' });
      const problem = passwordProblem(input.next, user.email);
      if (problem) return err({ type: 'weak-password', message: problem });
      await deps.db.updateTable('users').set({ password_hash: await hashPassword(input.next, cost), updated_at: clock.now() }).where('id', '=', user.id).execute();
      for (const s of await deps.sessions.listForUser(user.id)) if (s.id !== input.keepSessionId) await deps.sessions.invalidate(s.id);
      return ok(undefined);
    },

    async signup(input) {
      const invalid = validate(input);
      if (invalid) return err(invalid);
      const existing = await findByEmail(input.email);
      if (existing) {
        await deps.mailer.send({
          to: existing.email,
          subject: 'Someone tried to sign up with your address',
          text: `Someone (perhaps you) tried to create a new account at ${deps.siteUrl} with this email address, which already has an account.\n\nIf it was you, sign in instead: ${new URL('/auth/login', deps.siteUrl)}\nIf not, you can ignore this message.\n`,
        });
        return ok(undefined);
      }
      const user = await deps.db
        .insertInto('users')
        .values({ email: input.email.trim(), display_name: input.displayName.trim(), password_hash: await hashPassword(input.password, cost) })
        .returning('id')
        .executeTakeFirstOrThrow();
      const token = await issueToken(user.id, 'verify-email', VERIFY_TTL_MS);
      await deps.mailer.send({
        to: input.email.trim(),
        subject: 'Confirm your email address',
        text: `Welcome to ${new URL(deps.siteUrl).host}!\n\nConfirm your address by opening this link within 24 hours:\n${new URL(`/auth/verify?token=${token}`, deps.siteUrl)}\n\nIf you did not sign up, ignore this message.\n`,
      });
      return ok(undefined);
    },

    async verifyEmail(token) {
      if (!/^[a-z2-7]{52}$/.test(token)) return err({ type: 'invalid-token' });
      const id = encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
      return deps.db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('email_tokens').selectAll().where('id', '=', id).where('kind', '=', 'verify-email').forUpdate().executeTakeFirst();
        if (!row || row.used_at) return err({ type: 'invalid-token' as const });
        if (row.expires_at <= clock.now()) return err({ type: 'expired-token' as const });
        await trx.updateTable('email_tokens').set({ used_at: clock.now() }).where('id', '=', id).execute();
        await trx.updateTable('users').set({ email_verified_at: clock.now(), updated_at: clock.now() }).where('id', '=', row.user_id).execute();
        return ok({ userId: row.user_id });
      });
    },

    async login(input) {
      const account = normaliseEmail(input.email);
      for (const [limit, key] of [
        [deps.loginLimitPerIp, input.ip],
        [deps.loginLimitPerAccount, account],
      ] as const) {
        const hit = await limit.hit(key);
        if (!hit.ok) return err({ type: 'rate-limited', retryAfterSeconds: hit.retryAfterSeconds });
      }
      const user = await findByEmail(account);
      const valid = user?.password_hash ? await verifyPassword(user.password_hash, input.password) : (await verifyPassword(await dummyHash, input.password), false);
      if (!user || !valid) return err({ type: 'invalid-credentials' });
      if (!user.email_verified_at) return err({ type: 'email-not-verified' });
      await deps.loginLimitPerAccount.reset(account);
      // A fresh token at every login: a session id planted before login is worthless.
      const token = generateSessionToken();
      const session = await deps.sessions.create(token, user.id, { userAgent: input.userAgent, ip: input.ip });
      return ok({ token, session, user: { id: user.id, email: user.email, displayName: user.display_name, role: user.role, emailVerified: true } });
    },

    async createUser(input) {
      const invalid = validate(input);
      if (invalid) return err(invalid);
      if (await findByEmail(input.email)) return err({ type: 'email-taken' });
      const user = await deps.db
        .insertInto('users')
        .values({ email: input.email.trim(), display_name: input.displayName.trim(), role: input.role, password_hash: await hashPassword(input.password, cost), email_verified_at: clock.now() })
        .returning('id')
        .executeTakeFirstOrThrow();
      return ok({ userId: user.id });
    },

    async setRole(email, role) {
      const result = await deps.db.updateTable('users').set({ role, updated_at: clock.now() }).where((eb) => eb(eb.fn('lower', ['email']), '=', normaliseEmail(email))).executeTakeFirst();
      return Number(result.numUpdatedRows) === 0 ? err({ type: 'not-found' }) : ok(undefined);
    },

    async list() {
      const rows = await deps.db.selectFrom('users').select(['id', 'email', 'display_name', 'role', 'email_verified_at', 'created_at']).orderBy('created_at').execute();
      return rows.map((r) => ({ id: r.id, email: r.email, displayName: r.display_name, role: r.role, verified: r.email_verified_at !== null, createdAt: r.created_at }));
    },
  };
}
