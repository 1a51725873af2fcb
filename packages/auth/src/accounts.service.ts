import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Cache } from '@rose/cache';
import { err, ok, systemClock, type Clock, type Result } from '@rose/core';
import type { Database, UserRole } from '@rose/db';
import { enqueueAccountMail, type AccountMailJob } from './account-mail.ts';
import { findEmailToken } from './email-tokens.ts';
import { defaultPasswordCost, hashPassword, passwordProblem, verifyPassword, type PasswordCost } from './password.ts';
import { createLoginThrottle, createRateLimit, type LoginThrottleSettings } from './rate-limit.ts';
import { generateSessionToken, type Sessions, type SessionUser, type ValidSession } from './session.service.ts';

const emailSchema = z.email();

export type SignupError = { type: 'invalid-email' } | { type: 'weak-password'; message: string } | { type: 'invalid-name' };
export type VerifyError = { type: 'invalid-token' } | { type: 'expired-token' };
export type LoginError = { type: 'invalid-credentials' } | { type: 'email-not-verified' } | { type: 'rate-limited'; retryAfterSeconds: number };
export type ResetError = { type: 'invalid-token' } | { type: 'expired-token' } | { type: 'weak-password'; message: string };
export type ChangePasswordError = { type: 'wrong-password' } | { type: 'weak-password'; message: string } | { type: 'rate-limited'; retryAfterSeconds: number };
export type SetRoleError = { type: 'not-found' } | { type: 'last-admin' };
/** What a link from a mail stands for before it is used: still to confirm, or done already. */
export type LinkState = { state: 'pending' } | { state: 'confirmed' };

/** How passwords are hashed and checked (scrypt by default; tests may count calls). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
}

export interface Accounts {
  /**
   * Creates an unverified account and queues a mail with a verification link. An address
   * that already has an account gets a notice instead. Both paths hash the password, write
   * once and queue one mail, so neither the answer nor its timing tells them apart (no
   * account enumeration).
   */
  signup(input: { email: string; displayName: string; password: string }): Promise<Result<void, SignupError>>;
  /**
   * What a verification link would do, without using it (mail scanners and link previews
   * open links; only the member's POST confirms).
   */
  checkVerifyToken(token: string): Promise<Result<LinkState, VerifyError>>;
  /** Confirms the address. A link of an address already confirmed succeeds again. */
  verifyEmail(token: string): Promise<Result<{ userId: string; alreadyConfirmed: boolean }, VerifyError>>;
  /**
   * Throttled per address, per account+address, and slowed (never locked) per account: see
   * `createLoginThrottle`.
   */
  login(input: { email: string; password: string; ip: string; userAgent: string | null }): Promise<Result<{ token: string; session: ValidSession; user: SessionUser }, LoginError>>;
  /**
   * Queues a single-use reset link (valid 1 hour), sent when the address has an account;
   * says nothing either way. Rate-limited per address and per IP.
   */
  requestPasswordReset(input: { email: string; ip: string }): Promise<Result<void, { type: 'rate-limited'; retryAfterSeconds: number }>>;
  /** Sets a new password from a reset link, confirms the address, and signs out every device. */
  resetPassword(token: string, password: string): Promise<Result<{ userId: string }, ResetError>>;
  /** Checks a reset link without using it (to show the form or an error). */
  checkResetToken(token: string): Promise<Result<void, { type: 'invalid-token' } | { type: 'expired-token' }>>;
  /** Needs the current password; signs out every other device. */
  changePassword(input: { userId: string; current: string; next: string; keepSessionId: string }): Promise<Result<void, ChangePasswordError>>;
  /**
   * Needs the current password. Queues a confirmation link (24 h) to the new address and a
   * notice to the old one; the address changes only when the link is confirmed.
   */
  requestEmailChange(input: { userId: string; password: string; newEmail: string }): Promise<Result<void, { type: 'wrong-password' } | { type: 'invalid-email' } | { type: 'same-email' }>>;
  /** What an email-change link would do, without using it. */
  checkEmailChange(token: string): Promise<Result<LinkState & { email: string }, { type: 'invalid-token' } | { type: 'expired-token' }>>;
  /** Moves the account to the link's address. A link already used for it succeeds again. */
  confirmEmailChange(token: string): Promise<Result<{ userId: string; email: string }, { type: 'invalid-token' } | { type: 'expired-token' } | { type: 'email-taken' }>>;
  /** Staff/CLI: a verified account with a password. */
  createUser(input: { email: string; displayName: string; password: string; role: UserRole }): Promise<Result<{ userId: string }, SignupError | { type: 'email-taken' }>>;
  /** Refuses to take the role away from the last admin (the database refuses it too). */
  setRole(email: string, role: UserRole): Promise<Result<void, SetRoleError>>;
  list(): Promise<{ id: string; email: string; displayName: string; role: UserRole; verified: boolean; createdAt: Date }[]>;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** SQLSTATE raised by the database when a change would leave no admin (migration 20261129120000). */
export const lastAdminSqlState = 'RA001';
const isLastAdminError = (error: unknown) => (error as { code?: unknown } | null)?.code === lastAdminSqlState;

export function createAccounts(deps: {
  db: Kysely<Database>;
  sessions: Sessions;
  /** Counters for sign-in throttling and reset/change limits (Redis when configured). */
  cache: Cache;
  loginThrottle?: LoginThrottleSettings;
  /** Called after a mail was queued, so an in-process worker sends it at once. */
  onJobQueued?: () => void;
  /** Told why each sign-in failed (the app counts them for its metrics). */
  onLoginFailed?: (reason: LoginError['type']) => void;
  clock?: Clock;
  passwordCost?: PasswordCost;
  passwords?: PasswordHasher;
}): Accounts {
  const clock = deps.clock ?? systemClock;
  const cost = deps.passwordCost ?? defaultPasswordCost;
  const passwords: PasswordHasher = deps.passwords ?? { hash: (p) => hashPassword(p, cost), verify: verifyPassword };
  // Verifying against this when the account does not exist keeps the timing the same.
  let dummyHash: Promise<string> | undefined;
  const throttle = createLoginThrottle({ cache: deps.cache, clock, ...(deps.loginThrottle ? { settings: deps.loginThrottle } : {}) });
  const resetPerIp = createRateLimit({ cache: deps.cache, clock, name: 'reset-ip', limit: 20, windowSeconds: 15 * 60 });
  const resetPerAccount = createRateLimit({ cache: deps.cache, clock, name: 'reset-account', limit: 5, windowSeconds: 15 * 60 });
  const changePasswordLimit = createRateLimit({ cache: deps.cache, clock, name: 'change-password', limit: 10, windowSeconds: 15 * 60 });

  const findByEmail = (email: string, db: Kysely<Database> | Transaction<Database> = deps.db) =>
    db.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['email']), '=', normaliseEmail(email))).executeTakeFirst();

  const validate = (input: { email: string; displayName: string; password: string }): SignupError | undefined => {
    if (!emailSchema.safeParse(input.email.trim()).success || input.email.length > 254) return { type: 'invalid-email' };
    const name = input.displayName.trim();
    if (name.length < 1 || name.length > 100) return { type: 'invalid-name' };
    const problem = passwordProblem(input.password, { email: input.email, name });
    return problem ? { type: 'weak-password', message: problem } : undefined;
  };

  const queueMail = async (job: AccountMailJob, db: Kysely<Database> | Transaction<Database> = deps.db) => {
    await enqueueAccountMail(db, job);
  };
  const queued = () => {
    try {
      deps.onJobQueued?.();
    } catch {
      // waking the worker is an optimisation; it polls anyway
    }
  };

  const checkToken = async (token: string, kind: 'verify-email' | 'reset-password' | 'change-email') => {
    const found = await findEmailToken(deps.db, token, kind);
    if (!found.ok) return found;
    if (found.value.used_at) return err({ type: 'invalid-token' as const });
    if (found.value.expires_at <= clock.now()) return err({ type: 'expired-token' as const });
    return found;
  };

  // Links in mail are opened by scanners and previews too: looking never uses them up.
  const checkEmailChange = async (token: string): Promise<Result<LinkState & { email: string }, { type: 'invalid-token' } | { type: 'expired-token' }>> => {
    const found = await findEmailToken(deps.db, token, 'change-email');
    if (!found.ok) return found;
    const newEmail = found.value.new_email!;
    if (found.value.used_at) {
      const user = await deps.db.selectFrom('users').select('email').where('id', '=', found.value.user_id).executeTakeFirst();
      return user && normaliseEmail(user.email) === normaliseEmail(newEmail) ? ok({ state: 'confirmed', email: user.email }) : err({ type: 'invalid-token' });
    }
    if (found.value.expires_at <= clock.now()) return err({ type: 'expired-token' });
    return ok({ state: 'pending', email: newEmail });
  };

  const checkVerifyToken = async (token: string): Promise<Result<LinkState, VerifyError>> => {
    const found = await findEmailToken(deps.db, token, 'verify-email');
    if (!found.ok) return found;
    const user = await deps.db.selectFrom('users').select('email_verified_at').where('id', '=', found.value.user_id).executeTakeFirst();
    if (!user) return err({ type: 'invalid-token' });
    if (user.email_verified_at) return ok({ state: 'confirmed' });
    if (found.value.used_at) return err({ type: 'invalid-token' });
    if (found.value.expires_at <= clock.now()) return err({ type: 'expired-token' });
    return ok({ state: 'pending' });
  };

  return {
    async requestPasswordReset(input) {
      const account = normaliseEmail(input.email);
      for (const [limit, key] of [
        [resetPerIp, input.ip],
        [resetPerAccount, account],
      ] as const) {
        const hit = await limit.hit(key);
        if (!hit.ok) return err({ type: 'rate-limited', retryAfterSeconds: hit.retryAfterSeconds });
      }
      // Queued whether or not the address has an account: the worker looks it up.
      if (emailSchema.safeParse(account).success && account.length <= 254) {
        await queueMail({ kind: 'reset-password', email: account });
        queued();
      }
      return ok(undefined);
    },

    async checkResetToken(token) {
      const found = await checkToken(token, 'reset-password');
      return found.ok ? ok(undefined) : found;
    },

    async resetPassword(token, password) {
      const found = await checkToken(token, 'reset-password');
      if (!found.ok) return found;
      const user = await deps.db.selectFrom('users').select(['id', 'email', 'display_name']).where('id', '=', found.value.user_id).executeTakeFirstOrThrow();
      const problem = passwordProblem(password, { email: user.email, name: user.display_name });
      if (problem) return err({ type: 'weak-password', message: problem });
      const hash = await passwords.hash(password);
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
      if (!user.password_hash || !(await passwords.verify(user.password_hash, input.password))) return err({ type: 'wrong-password' });
      if (normaliseEmail(newEmail) === normaliseEmail(user.email)) return err({ type: 'same-email' });
      // Whether the address is taken is the worker's business (its owner is told instead),
      // so this answer reveals nothing about other accounts.
      await queueMail({ kind: 'change-email', userId: user.id, newEmail });
      queued();
      return ok(undefined);
    },

    checkEmailChange,

    async confirmEmailChange(token) {
      const state = await checkEmailChange(token);
      if (!state.ok) return state;
      const found = await findEmailToken(deps.db, token, 'change-email');
      if (!found.ok) return found;
      if (state.value.state === 'confirmed') return ok({ userId: found.value.user_id, email: state.value.email });
      const newEmail = found.value.new_email!;
      const taken = await findByEmail(newEmail);
      if (taken && taken.id !== found.value.user_id) return err({ type: 'email-taken' });
      const changed = await deps.db.transaction().execute(async (trx) => {
        const claimed = await trx.updateTable('email_tokens').set({ used_at: clock.now() }).where('id', '=', found.value.id).where('used_at', 'is', null).executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) return false;
        await trx.updateTable('users').set({ email: newEmail, email_verified_at: clock.now(), updated_at: clock.now() }).where('id', '=', found.value.user_id).execute();
        return true;
      });
      if (!changed) {
        // A second submit raced the first: it succeeded if the address is now the account's.
        const again = await checkEmailChange(token);
        return again.ok && again.value.state === 'confirmed' ? ok({ userId: found.value.user_id, email: again.value.email }) : err({ type: 'invalid-token' });
      }
      await deps.sessions.refreshUser(found.value.user_id);
      return ok({ userId: found.value.user_id, email: newEmail });
    },

    async changePassword(input) {
      const hit = await changePasswordLimit.hit(input.userId);
      if (!hit.ok) return err({ type: 'rate-limited', retryAfterSeconds: hit.retryAfterSeconds });
      const user = await deps.db.selectFrom('users').select(['id', 'email', 'display_name', 'password_hash']).where('id', '=', input.userId).executeTakeFirstOrThrow();
      if (!user.password_hash || !(await passwords.verify(user.password_hash, input.current))) return err({ type: 'wrong-password' });
      const problem = passwordProblem(input.next, { email: user.email, name: user.display_name });
      if (problem) return err({ type: 'weak-password', message: problem });
      await deps.db.updateTable('users').set({ password_hash: await passwords.hash(input.next), updated_at: clock.now() }).where('id', '=', user.id).execute();
      for (const s of await deps.sessions.listForUser(user.id)) if (s.id !== input.keepSessionId) await deps.sessions.invalidate(s.id);
      return ok(undefined);
    },

    async signup(input) {
      const invalid = validate(input);
      if (invalid) return err(invalid);
      const email = input.email.trim();
      // The same work on both paths: hash, one insert attempt, one queued mail.
      const hash = await passwords.hash(input.password);
      await deps.db.transaction().execute(async (trx) => {
        const created = await trx
          .insertInto('users')
          .values({ email, display_name: input.displayName.trim(), password_hash: hash })
          .onConflict((oc) => oc.doNothing())
          .returning('id')
          .executeTakeFirst();
        if (created) return queueMail({ kind: 'verify-email', userId: created.id }, trx);
        const existing = await findByEmail(email, trx);
        if (!existing) throw new Error(`Signup of ${email} conflicted with an account that cannot be found`);
        return queueMail({ kind: 'signup-existing', userId: existing.id }, trx);
      });
      queued();
      return ok(undefined);
    },

    checkVerifyToken,

    async verifyEmail(token) {
      const state = await checkVerifyToken(token);
      if (!state.ok) return state;
      const found = await findEmailToken(deps.db, token, 'verify-email');
      if (!found.ok) return found;
      const userId = found.value.user_id;
      if (state.value.state === 'confirmed') return ok({ userId, alreadyConfirmed: true });
      await deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('email_tokens').set({ used_at: clock.now() }).where('id', '=', found.value.id).where('used_at', 'is', null).execute();
        await trx.updateTable('users').set({ email_verified_at: clock.now(), updated_at: clock.now() }).where('id', '=', userId).where('email_verified_at', 'is', null).execute();
      });
      return ok({ userId, alreadyConfirmed: false });
    },

    async login(input) {
      const failed = <E extends LoginError>(error: E) => {
        deps.onLoginFailed?.(error.type);
        return err(error);
      };
      const account = normaliseEmail(input.email);
      const allowed = await throttle.attempt(account, input.ip);
      if (!allowed.ok) return failed({ type: 'rate-limited', retryAfterSeconds: allowed.retryAfterSeconds });
      const user = await findByEmail(account);
      let valid = false;
      if (user?.password_hash) valid = await passwords.verify(user.password_hash, input.password);
      else await passwords.verify(await (dummyHash ??= passwords.hash('not a real password, only for timing')), input.password);
      if (!user || !valid) {
        await throttle.failed(account, input.ip);
        return failed({ type: 'invalid-credentials' });
      }
      await throttle.succeeded(account, input.ip);
      if (!user.email_verified_at) return failed({ type: 'email-not-verified' });
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
        .values({ email: input.email.trim(), display_name: input.displayName.trim(), role: input.role, password_hash: await passwords.hash(input.password), email_verified_at: clock.now() })
        .returning('id')
        .executeTakeFirstOrThrow();
      return ok({ userId: user.id });
    },

    async setRole(email, role) {
      try {
        return await deps.db.transaction().execute(async (trx): Promise<Result<void, SetRoleError>> => {
          const user = await findByEmail(email, trx);
          if (!user) return err({ type: 'not-found' });
          if (user.role === role) return ok(undefined);
          if (user.role === 'admin') {
            const others = await trx.selectFrom('users').select('id').where('role', '=', 'admin').where('id', '!=', user.id).limit(1).execute();
            if (others.length === 0) return err({ type: 'last-admin' });
          }
          await trx.updateTable('users').set({ role, updated_at: clock.now() }).where('id', '=', user.id).execute();
          return ok(undefined);
        });
      } catch (error) {
        // Two admins demoted at once: the database's guard stops the second.
        if (isLastAdminError(error)) return err({ type: 'last-admin' });
        throw error;
      }
    },

    async list() {
      const rows = await deps.db.selectFrom('users').select(['id', 'email', 'display_name', 'role', 'email_verified_at', 'created_at']).orderBy('created_at').execute();
      return rows.map((r) => ({ id: r.id, email: r.email, displayName: r.display_name, role: r.role, verified: r.email_verified_at !== null, createdAt: r.created_at }));
    },
  };
}
