import type { Kysely } from 'kysely';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import type { Cache } from '@rose/cache';
import { systemClock, type Clock } from '@rose/core';
import type { Database, UserRole } from '@rose/db';

/** Sessions last 30 days and slide: used within the last 15 days of that, they renew. */
const SESSION_MS = 30 * 24 * 3600 * 1000;
const RENEW_WITHIN_MS = 15 * 24 * 3600 * 1000;
/** How long a validation result may be served from the cache. */
const CACHE_SECONDS = 60;

export interface SessionUser {
  id: string;
  email: string;
  displayName: string;
  role: UserRole;
  emailVerified: boolean;
}
export interface ValidSession {
  id: string;
  userId: string;
  expiresAt: Date;
  /** Set when the expiry moved: the cookie must be sent again with the new date. */
  renewed: boolean;
}

export function generateSessionToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

/** The stored id of a token: its SHA-256, so a database leak yields no usable cookie. */
export function sessionIdOf(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export interface Sessions {
  create(token: string, userId: string, meta?: { userAgent?: string | null; ip?: string | null }): Promise<ValidSession>;
  validate(token: string): Promise<{ session: ValidSession; user: SessionUser } | null>;
  invalidate(sessionId: string): Promise<void>;
  invalidateAllForUser(userId: string): Promise<number>;
  /** Drops cached validations of a user's sessions (after a profile change). */
  refreshUser(userId: string): Promise<void>;
  listForUser(userId: string): Promise<{ id: string; createdAt: Date; lastSeenAt: Date; expiresAt: Date; userAgent: string | null; ip: string | null }[]>;
}

/**
 * Sessions on Lucia's design (the package itself is deprecated): random tokens, only
 * SHA-256 stored, sliding expiry, revoke one or all. Validation is cached briefly; revoking
 * drops the cache entry at once.
 */
export function createSessions(deps: {
  db: Kysely<Database>;
  cache: Cache;
  clock?: Clock;
  /** Called when a user's sessions end (logout, sign out everywhere): e.g. end their SSO sessions too. */
  onUserSignedOut?: (userId: string) => Promise<void>;
}): Sessions {
  const clock = deps.clock ?? systemClock;
  const cacheKey = (id: string) => `session:${id}`;
  const forget = async (id: string) => {
    await deps.cache.delete(cacheKey(id)).catch(() => {});
  };
  return {
    async create(token, userId, meta = {}) {
      const now = clock.now();
      const session = { id: sessionIdOf(token), user_id: userId, expires_at: new Date(now.getTime() + SESSION_MS), created_at: now, last_seen_at: now, user_agent: meta.userAgent?.slice(0, 300) ?? null, ip: meta.ip ?? null };
      await deps.db.insertInto('sessions').values(session).execute();
      return { id: session.id, userId, expiresAt: session.expires_at, renewed: false };
    },
    async validate(token) {
      if (!/^[a-z2-7]{32}$/.test(token)) return null;
      const id = sessionIdOf(token);
      const now = clock.now();
      const cached = await deps.cache.get(cacheKey(id)).catch(() => undefined);
      if (cached) {
        const hit = JSON.parse(cached) as { session: ValidSession & { expiresAt: string }; user: SessionUser };
        const expiresAt = new Date(hit.session.expiresAt);
        if (expiresAt > now && expiresAt.getTime() - now.getTime() >= RENEW_WITHIN_MS) return { session: { ...hit.session, expiresAt, renewed: false }, user: hit.user };
      }
      const row = await deps.db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.id', 'sessions.user_id', 'sessions.expires_at', 'users.email', 'users.display_name', 'users.role', 'users.email_verified_at'])
        .where('sessions.id', '=', id)
        .executeTakeFirst();
      if (!row) return null;
      if (row.expires_at <= now) {
        await deps.db.deleteFrom('sessions').where('id', '=', id).execute();
        await forget(id);
        return null;
      }
      let expiresAt = row.expires_at;
      let renewed = false;
      if (expiresAt.getTime() - now.getTime() < RENEW_WITHIN_MS) {
        expiresAt = new Date(now.getTime() + SESSION_MS);
        renewed = true;
        await deps.db.updateTable('sessions').set({ expires_at: expiresAt, last_seen_at: now }).where('id', '=', id).execute();
      }
      const result = {
        session: { id, userId: row.user_id, expiresAt, renewed },
        user: { id: row.user_id, email: row.email, displayName: row.display_name, role: row.role, emailVerified: row.email_verified_at !== null },
      };
      await deps.cache.set(cacheKey(id), JSON.stringify(result), CACHE_SECONDS).catch(() => {});
      return result;
    },
    async invalidate(sessionId) {
      const row = await deps.db.deleteFrom('sessions').where('id', '=', sessionId).returning('user_id').executeTakeFirst();
      await forget(sessionId);
      if (row) await deps.onUserSignedOut?.(row.user_id);
    },
    async invalidateAllForUser(userId) {
      const rows = await deps.db.deleteFrom('sessions').where('user_id', '=', userId).returning('id').execute();
      await Promise.all(rows.map((r) => forget(r.id)));
      await deps.onUserSignedOut?.(userId);
      return rows.length;
    },
    async refreshUser(userId) {
      const rows = await deps.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute();
      await Promise.all(rows.map((r) => forget(r.id)));
    },
    async listForUser(userId) {
      const rows = await deps.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('expires_at', '>', clock.now()).orderBy('last_seen_at', 'desc').execute();
      return rows.map((r) => ({ id: r.id, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at, userAgent: r.user_agent, ip: r.ip }));
    },
  };
}
