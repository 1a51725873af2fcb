import { sql, type Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { KvKey, KvStore, KvStoreListEntry, KvStoreSetOptions } from '@fedify/fedify';
import { systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';

// Fedify's own state: remote documents and public keys it fetched (with a TTL), activity ids it
// has handled (inbox idempotence, one day), signature nonces, which HTTP signature spec a server
// speaks, and each remote host's circuit-breaker state (kept with compare-and-swap, listed by prefix).
// Both stores below behave as Fedify's MemoryKvStore: an expired entry is absent to get, list and
// cas; `list(prefix)` yields the key itself and every longer key starting with it; cas compares
// by value (deep equality), an expected `undefined` means "absent", a new `undefined` deletes.

/** A Fedify key–value store whose optional `cas` is always there. */
export type FedifyKvStore = KvStore & Required<Pick<KvStore, 'cas'>>;

/**
 * The key as JSON text. JSON is injective and self-delimiting, so ['a', 'bc'] and ['ab', 'c']
 * differ, and every key under a prefix starts with the prefix's text minus its closing `]`,
 * followed by `,` (a longer key) or `]` (the key itself) — nothing else can follow a string.
 */
function encodeKey(key: KvKey): string {
  return JSON.stringify(key);
}

function decodeKey(text: string): KvKey | undefined {
  try {
    const key: unknown = JSON.parse(text);
    if (Array.isArray(key) && key.length > 0 && key.every((part) => typeof part === 'string')) return key as unknown as KvKey;
  } catch {
    // not one of ours
  }
  return undefined;
}

/**
 * The encoded keys under `prefix` are exactly those from `["a","b",` to `["a","b"]` in byte
 * order (`,` sorts before `]`; see `encodeKey`): one range, so one index range scan.
 */
function prefixRange(prefix: KvKey): { from: string; to: string } {
  const open = encodeKey(prefix).slice(0, -1);
  return { from: `${open},`, to: `${open}]` };
}

/** Fedify's values are JSON (documents, keys as JSON-LD, `true`, `null`, circuit states). */
function serialize(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`Fedify's key–value store holds JSON values; got ${typeof value}, which has no JSON form`);
  return text;
}

/** The shape of Temporal.Duration this module uses (Fedify passes @js-temporal/polyfill's). */
interface Duration {
  total(options: { unit: 'millisecond'; relativeTo: string }): number;
}

/** Milliseconds in `duration`; months and years count from `now` (UTC), as a calendar would. */
export function durationMs(duration: Duration, now: Date): number {
  return duration.total({ unit: 'millisecond', relativeTo: now.toISOString().slice(0, -1) });
}

function expiryOf(options: KvStoreSetOptions | undefined, now: Date): Date | null {
  return options?.ttl == null ? null : new Date(now.getTime() + durationMs(options.ttl, now));
}

/** How many rows `list` reads per query; a long prefix scan never holds every row at once. */
const listPageSize = 500;

/**
 * Fedify's key–value store in the `fedify_kv` table (Postgres or PGlite). Expired entries are
 * invisible at once and deleted when read; `purgeExpired` clears the ones nobody reads again.
 * `cas` is one conditional statement, so it is atomic across processes on Postgres.
 *
 * @example
 * const federation = createFederation({ kv: createSqlKvStore(db), queue, ... });
 */
export function createSqlKvStore(db: Kysely<Database>, opts: { clock?: Clock } = {}): FedifyKvStore {
  const clock = opts.clock ?? systemClock;
  const live = (now: Date) => sql<boolean>`(expires_at is null or expires_at > ${now})`;
  // Byte order regardless of the database's collation (see prefixRange); with the column itself
  // collated "C" the primary key's index serves the range.
  const byteKey = sql<string>`key collate "C"`;

  const deleteIfExpired = async (key: string, now: Date) => {
    await db.deleteFrom('fedify_kv').where('key', '=', key).where('expires_at', '<=', now).execute();
  };

  const store: FedifyKvStore = {
    async get<T = unknown>(key: KvKey): Promise<T | undefined> {
      const now = clock.now();
      const encoded = encodeKey(key);
      const row = await db.selectFrom('fedify_kv').select(['value', 'expires_at']).where('key', '=', encoded).executeTakeFirst();
      if (!row) return undefined;
      if (row.expires_at && row.expires_at <= now) {
        await deleteIfExpired(encoded, now);
        return undefined;
      }
      return row.value as T;
    },

    async set(key, value, options) {
      if (value === undefined) return store.delete(key);
      const now = clock.now();
      const row = { key: encodeKey(key), value: serialize(value), expires_at: expiryOf(options, now) };
      await db
        .insertInto('fedify_kv')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, expires_at: row.expires_at }))
        .execute();
    },

    async delete(key) {
      await db.deleteFrom('fedify_kv').where('key', '=', encodeKey(key)).execute();
    },

    async cas(key, expectedValue, newValue, options) {
      const now = clock.now();
      const encoded = encodeKey(key);
      if (expectedValue === undefined) {
        if (newValue === undefined) {
          // Nothing to write: it succeeds if the key is absent (an expired entry counts as absent).
          await deleteIfExpired(encoded, now);
          const row = await db.selectFrom('fedify_kv').select('key').where('key', '=', encoded).executeTakeFirst();
          return !row;
        }
        // Inserts, or takes over an expired row; a live row (even one committed by a racing
        // insert this statement waited for) makes the conflict's WHERE false: no row, no swap.
        const row = { key: encoded, value: serialize(newValue), expires_at: expiryOf(options, now) };
        const inserted = await db
          .insertInto('fedify_kv')
          .values(row)
          .onConflict((oc) =>
            oc
              .column('key')
              .doUpdateSet({ value: row.value, expires_at: row.expires_at })
              .where('fedify_kv.expires_at', '<=', now),
          )
          .returning('key')
          .executeTakeFirst();
        return inserted !== undefined;
      }
      // jsonb equality is deep (object key order does not matter), as Fedify's isEqual. A racing
      // update makes this one wait for the row, then re-check the WHERE against what it wrote.
      const expected = sql`${serialize(expectedValue)}::jsonb`;
      if (newValue === undefined) {
        const deleted = await db.deleteFrom('fedify_kv').where('key', '=', encoded).where('value', '=', expected).where(live(now)).returning('key').executeTakeFirst();
        return deleted !== undefined;
      }
      const updated = await db
        .updateTable('fedify_kv')
        .set({ value: serialize(newValue), expires_at: expiryOf(options, now) })
        .where('key', '=', encoded)
        .where('value', '=', expected)
        .where(live(now))
        .returning('key')
        .executeTakeFirst();
      return updated !== undefined;
    },

    async *list(prefix?: KvKey): AsyncIterable<KvStoreListEntry> {
      const now = clock.now();
      const range = prefix && prefix.length > 0 ? prefixRange(prefix) : undefined;
      let query = db.deleteFrom('fedify_kv').where('expires_at', '<=', now);
      if (range) query = query.where(byteKey, '>=', range.from).where(byteKey, '<=', range.to);
      await query.execute();

      let after: string | undefined;
      for (;;) {
        const rows = await db
          .selectFrom('fedify_kv')
          .select(['key', 'value'])
          .where(live(now))
          .$if(range !== undefined, (q) => q.where(byteKey, '>=', range!.from).where(byteKey, '<=', range!.to))
          .$if(after !== undefined, (q) => q.where(byteKey, '>', after!))
          .orderBy(byteKey)
          .limit(listPageSize)
          .execute();
        for (const row of rows) {
          const key = decodeKey(row.key);
          if (key) yield { key, value: row.value };
        }
        if (rows.length < listPageSize) return;
        after = rows[rows.length - 1]!.key;
      }
    },
  };
  return store;
}

/**
 * Deletes the expired entries of the SQL store (reads already ignore them); returns how many.
 * Fedify's document cache writes an entry per remote document fetched and may never read it
 * again, so the table grows unless this runs now and then: the outbox worker's process is the
 * place (hourly, e.g. a recurring job or a timer beside `createWorker`).
 */
export async function purgeExpired(db: Kysely<Database>, opts: { clock?: Clock } = {}): Promise<number> {
  const now = (opts.clock ?? systemClock).now();
  const result = await db.deleteFrom('fedify_kv').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * JSON with every object's keys sorted, so equal values have equal text and the Redis store's
 * cas can compare strings inside Redis (in one atomic script) the way Fedify compares values.
 */
function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
  if (text === undefined) throw new TypeError(`Fedify's key–value store holds JSON values; got ${typeof value}, which has no JSON form`);
  return text;
}

// KEYS[1]: the key. ARGV: expected present (1/0), expected JSON, new present (1/0), new JSON, ttl ms ('' for none).
const casScript = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
elseif ARGV[5] ~= '' then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1
`;

function hasPrefix(key: KvKey, prefix: KvKey | undefined): boolean {
  return !prefix || (key.length >= prefix.length && prefix.every((part, i) => key[i] === part));
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Fedify's key–value store in Redis, for setups with several processes that already run Redis.
 * Keys are `prefix` + the key's JSON text; Redis expires entries itself (PX). `cas` is one Lua
 * script; values are stored as canonical JSON so it can compare them as strings. The caller owns
 * `redis` (and closes it); give it no ioredis `keyPrefix` (SCAN patterns do not get one) — use
 * `prefix` instead.
 *
 * @example
 * const kv = createRedisKvStore(new Redis(url), { prefix: 'rose:fedify:' });
 */
export function createRedisKvStore(redis: Redis, opts: { prefix?: string } = {}): FedifyKvStore {
  const prefix = opts.prefix ?? 'rose:fedify:';
  const redisKey = (key: KvKey) => prefix + encodeKey(key);
  const ttlMs = (options: KvStoreSetOptions | undefined): number | undefined =>
    options?.ttl == null ? undefined : Math.ceil(durationMs(options.ttl, new Date()));

  const store: FedifyKvStore = {
    async get<T = unknown>(key: KvKey): Promise<T | undefined> {
      const text = await redis.get(redisKey(key));
      return text === null ? undefined : (JSON.parse(text) as T);
    },

    async set(key, value, options) {
      if (value === undefined) return store.delete(key);
      const text = canonicalJson(value);
      const ms = ttlMs(options);
      if (ms === undefined) await redis.set(redisKey(key), text);
      // A TTL that has already run out leaves nothing behind, as an expired entry would.
      else if (ms <= 0) await redis.del(redisKey(key));
      else await redis.set(redisKey(key), text, 'PX', ms);
    },

    async delete(key) {
      await redis.del(redisKey(key));
    },

    async cas(key, expectedValue, newValue, options) {
      const ms = newValue === undefined ? undefined : ttlMs(options);
      const expectedPresent = expectedValue !== undefined;
      const newPresent = newValue !== undefined && (ms === undefined || ms > 0);
      const result = await redis.eval(
        casScript,
        1,
        redisKey(key),
        expectedPresent ? '1' : '0',
        expectedPresent ? canonicalJson(expectedValue) : '',
        newPresent ? '1' : '0',
        newPresent ? canonicalJson(newValue) : '',
        newPresent && ms !== undefined ? String(ms) : '',
      );
      return result === 1;
    },

    async *list(listPrefix?: KvKey): AsyncIterable<KvStoreListEntry> {
      // `["a"` then anything: only `["a"]` and `["a",…` are valid encodings (see encodeKey).
      const pattern = `${escapeGlob(prefix + (listPrefix && listPrefix.length > 0 ? encodeKey(listPrefix).slice(0, -1) : ''))}*`;
      const seen = new Set<string>(); // SCAN may return a key twice
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        const fresh = found.filter((k) => !seen.has(k));
        for (const k of fresh) seen.add(k);
        if (fresh.length === 0) continue;
        const values = await redis.mget(...fresh);
        for (const [i, k] of fresh.entries()) {
          const text = values[i];
          const key = decodeKey(k.slice(prefix.length));
          // null: expired or deleted since the scan saw it.
          if (text != null && key && hasPrefix(key, listPrefix)) yield { key, value: JSON.parse(text) as unknown };
        }
      } while (cursor !== '0');
    },
  };
  return store;
}
