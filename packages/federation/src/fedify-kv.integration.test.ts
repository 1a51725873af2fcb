import { randomBytes } from 'node:crypto';
import { Temporal } from '@js-temporal/polyfill';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvKey, KvStoreListEntry } from '@fedify/fedify';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, testRedisUrl, type TestDatabase } from '@rose/testing';
import { createRedisKvStore, createSqlKvStore, purgeExpired, type FedifyKvStore } from './fedify-kv.ts';

interface StoreUnderTest {
  kv: FedifyKvStore;
  /**
   * Lets `ms` pass for TTLs. The SQL store reads a fixed clock, which moves; Redis keeps real
   * time, which passes by itself — the tests then poll until the entry is gone.
   */
  pass(ms: number): void;
  close(): Promise<void>;
}

const ms = (milliseconds: number) => Temporal.Duration.from({ milliseconds });

/** Polls `check` until it holds; fails after a generous deadline (a busy machine is slow, never wrong). */
async function until(check: () => Promise<boolean>, what: string, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function collect(entries: AsyncIterable<KvStoreListEntry>): Promise<KvStoreListEntry[]> {
  const out: KvStoreListEntry[] = [];
  for await (const entry of entries) out.push(entry);
  return out.sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
}

/** The behaviour Fedify expects of any KvStore (its MemoryKvStore's), run against each store. */
function describeKvContract(name: string, create: () => Promise<StoreUnderTest>): void {
  describe(`${name} Fedify key–value store (contract)`, () => {
    let s: StoreUnderTest;
    let kv: FedifyKvStore;
    beforeAll(async () => {
      s = await create();
      kv = s.kv;
    });
    afterAll(() => s?.close());
    // Every test writes under a root of its own, so the tests do not depend on each other.
    let n = 0;
    const root = () => `t${++n}-${randomBytes(3).toString('hex')}`;
    const gone = (key: KvKey) => async () => (await kv.get(key)) === undefined;

    it('answers undefined for a key never set', async () => {
      expect(await kv.get([root()])).toBeUndefined();
    });

    it('round-trips JSON values, and keeps null apart from absent', async () => {
      const r = root();
      const values: unknown[] = [
        { id: 'https://example.com/users/a', nested: { list: [1, 'two', { three: 3 }], empty: {} }, none: null },
        [1, 'two', [], {}],
        'Café ☕ 日本語 "quoted" \\ back',
        0,
        -7.25,
        1e21,
        true,
        false,
        null,
        'x'.repeat(100_000),
      ];
      for (const [i, value] of values.entries()) await kv.set([r, String(i)], value);
      for (const [i, value] of values.entries()) expect(await kv.get([r, String(i)])).toEqual(value);
      expect(await kv.get([r, 'null'])).toBeUndefined();
      expect(await kv.get([r, String(values.indexOf(null))])).toBeNull();
    });

    it('overwrites, deletes, and deletes a missing key without complaint', async () => {
      const key = [root()] as const;
      await kv.set(key, 'one');
      await kv.set(key, { two: 2 });
      expect(await kv.get(key)).toEqual({ two: 2 });
      await kv.delete(key);
      expect(await kv.get(key)).toBeUndefined();
      await expect(kv.delete(key)).resolves.toBeUndefined();
    });

    it('keeps apart keys that joining the parts would confuse', async () => {
      const r = root();
      const keys: KvKey[] = [
        [r, 'a', 'bc'],
        [r, 'ab', 'c'],
        [r, 'a,bc'],
        [r, 'a","bc'],
        [r, 'a', 'b', 'c'],
        [r, 'a\u0000bc'],
        [r, 'a:bc'],
      ];
      for (const [i, key] of keys.entries()) await kv.set(key, i);
      for (const [i, key] of keys.entries()) expect(await kv.get(key)).toBe(i);
    });

    it('lists the prefix key itself and every longer key under it, and nothing else', async () => {
      const r = root();
      const under: KvKey[] = [[r, 'a'], [r, 'a', 'x'], [r, 'a', 'y', 'z'], [r, 'a', '']];
      const beside: KvKey[] = [[r, 'ab'], [r, 'a"'], [r, 'a,'], [r, 'a]'], [r, ''], [r], [`${r}x`, 'a'], ['other', r, 'a']];
      for (const key of [...under, ...beside]) await kv.set(key, { at: key });
      expect(await collect(kv.list([r, 'a']))).toEqual(
        under.map((key) => ({ key, value: { at: key } })).sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key))),
      );
      const all = await collect(kv.list([r]));
      expect(all.map((e) => e.key)).toHaveLength(under.length + beside.length - 2);
      expect(all.map((e) => e.key)).not.toContainEqual([`${r}x`, 'a']);
    });

    it('treats LIKE and glob characters in a prefix literally', async () => {
      const r = root();
      await kv.set([r, '%_*?[\\', 'k'], 'special');
      await kv.set([r, 'x_*?[\\', 'k'], 'other');
      await kv.set([r, 'anything', 'k'], 'other');
      expect(await collect(kv.list([r, '%_*?[\\']))).toEqual([{ key: [r, '%_*?[\\', 'k'], value: 'special' }]);
    });

    it('lists every entry when given no prefix', async () => {
      const r = root();
      await kv.set([r, '1'], 1);
      await kv.set([r], 0);
      const all = await collect(kv.list());
      expect(all).toEqual(expect.arrayContaining([{ key: [r], value: 0 }, { key: [r, '1'], value: 1 }]));
    });

    it('cas from undefined creates the entry only while it is absent', async () => {
      const key = [root()] as const;
      expect(await kv.cas(key, undefined, 1)).toBe(true);
      expect(await kv.cas(key, undefined, 2)).toBe(false);
      expect(await kv.get(key)).toBe(1);
    });

    it('cas swaps only when the value is equal, comparing deeply in any key order', async () => {
      const key = [root()] as const;
      await kv.set(key, { state: 'open', failures: ['2026-01-01T00:00:00Z'], n: 1 });
      expect(await kv.cas(key, { state: 'open', failures: ['2026-01-02T00:00:00Z'], n: 1 }, 'no')).toBe(false);
      expect(await kv.cas(key, { state: 'open', n: 1 }, 'no')).toBe(false);
      expect(await kv.get(key)).toEqual({ state: 'open', failures: ['2026-01-01T00:00:00Z'], n: 1 });
      expect(await kv.cas(key, { n: 1, failures: ['2026-01-01T00:00:00Z'], state: 'open' }, { state: 'closed' })).toBe(true);
      expect(await kv.get(key)).toEqual({ state: 'closed' });
    });

    it('cas to undefined deletes, as Fedify consumes a signature nonce', async () => {
      const key = [root(), 'nonce'] as const;
      await kv.set(key, true);
      expect(await kv.cas(key, true, undefined)).toBe(true);
      expect(await kv.get(key)).toBeUndefined();
      expect(await kv.cas(key, true, undefined)).toBe(false);
    });

    it('cas tells a stored null from an absent key', async () => {
      const key = [root()] as const;
      await kv.set(key, null);
      expect(await kv.cas(key, undefined, 1)).toBe(false);
      expect(await kv.cas(key, null, 1)).toBe(true);
      expect(await kv.get(key)).toBe(1);
    });

    it('cas from undefined to undefined succeeds only while the key is absent, and writes nothing', async () => {
      const key = [root()] as const;
      expect(await kv.cas(key, undefined, undefined)).toBe(true);
      expect(await kv.get(key)).toBeUndefined();
      await kv.set(key, 0);
      expect(await kv.cas(key, undefined, undefined)).toBe(false);
      expect(await kv.get(key)).toBe(0);
    });

    it('lets exactly one of many racing creators win', async () => {
      const key = [root()] as const;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.cas(key, undefined, i)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await kv.get(key)).toBe(results.indexOf(true));
    });

    it('loses no update when many read-and-cas loops race', async () => {
      const key = [root()] as const;
      await kv.set(key, { count: 0 });
      const increment = async () => {
        for (;;) {
          const current = await kv.get<{ count: number }>(key);
          if (await kv.cas(key, current, { count: current!.count + 1 })) return;
        }
      };
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) await increment();
      }));
      expect(await kv.get(key)).toEqual({ count: 40 });
    });

    it('keeps an entry with a long TTL', async () => {
      const key = [root()] as const;
      await kv.set(key, 'kept', { ttl: Temporal.Duration.from({ hours: 1 }) });
      expect(await kv.get(key)).toBe('kept');
    });

    it('drops an entry once its TTL has run out, and only that entry', async () => {
      const r = root();
      await kv.set([r, 'short'], 'soon gone', { ttl: ms(150) });
      await kv.set([r, 'forever'], 'stays');
      s.pass(200);
      await until(gone([r, 'short']), 'the short-lived entry expires');
      expect(await kv.get([r, 'forever'])).toBe('stays');
    });

    it('set without a TTL makes an entry that had one permanent', async () => {
      const r = root();
      await kv.set([r, 'k'], 1, { ttl: ms(150) });
      await kv.set([r, 'k'], 2);
      await kv.set([r, 'witness'], 'w', { ttl: ms(150) });
      s.pass(200);
      await until(gone([r, 'witness']), 'the witness expires');
      expect(await kv.get([r, 'k'])).toBe(2);
    });

    it('treats an expired entry as absent in list and cas', async () => {
      const r = root();
      await kv.set([r, 'old'], 'expired', { ttl: ms(150) });
      await kv.set([r, 'live'], 'live');
      s.pass(200);
      await until(gone([r, 'old']), 'the entry expires');
      expect(await collect(kv.list([r]))).toEqual([{ key: [r, 'live'], value: 'live' }]);
      expect(await kv.cas([r, 'old'], 'expired', 'swapped')).toBe(false);
      expect(await kv.cas([r, 'old'], undefined, 'again')).toBe(true);
      expect(await kv.get([r, 'old'])).toBe('again');
    });

    it('cas with a TTL makes the new value expire; cas without one keeps it', async () => {
      const r = root();
      await kv.set([r, 'lease'], 'free');
      expect(await kv.cas([r, 'lease'], 'free', 'taken', { ttl: ms(150) })).toBe(true);
      await kv.set([r, 'kept'], 'a', { ttl: ms(150) });
      expect(await kv.cas([r, 'kept'], 'a', 'b')).toBe(true);
      s.pass(200);
      await until(gone([r, 'lease']), 'the lease expires');
      expect(await kv.get([r, 'kept'])).toBe('b');
    });

    it('refuses a value with no JSON form, naming the problem', async () => {
      await expect(kv.set([root()], () => 1)).rejects.toThrow(/JSON values; got function/);
    });
  });
}

for (const kind of databaseKinds) {
  const clock = createFixedClock(new Date('2026-12-02T12:00:00Z'));
  let t: TestDatabase | undefined;
  describeKvContract(`SQL on ${kind}`, async () => {
    t = await createTestDatabase(kind);
    return { kv: createSqlKvStore(t.db, { clock }), pass: (ms) => clock.advance(ms), close: () => t!.drop() };
  });

  describe(`SQL Fedify key–value store on ${kind}`, () => {
    let db: TestDatabase;
    const clock = createFixedClock(new Date('2026-12-02T12:00:00Z'));
    beforeAll(async () => {
      db = await createTestDatabase(kind);
    });
    afterAll(() => db?.drop());

    it('keeps an entry until the instant its TTL ends', async () => {
      const kv = createSqlKvStore(db.db, { clock });
      await kv.set(['edge'], 'v', { ttl: Temporal.Duration.from({ minutes: 1 }) });
      clock.advance(59_999);
      expect(await kv.get(['edge'])).toBe('v');
      clock.advance(1);
      expect(await kv.get(['edge'])).toBeUndefined();
    });

    it('stores the value as jsonb and deletes an expired row when it is read', async () => {
      const kv = createSqlKvStore(db.db, { clock });
      await kv.set(['stored', 'x'], { a: [1] }, { ttl: Temporal.Duration.from({ seconds: 1 }) });
      const row = await sql<{ key: string; type: string }>`select key, jsonb_typeof(value) as type from fedify_kv where key = ${'["stored","x"]'}`.execute(db.db);
      expect(row.rows).toEqual([{ key: '["stored","x"]', type: 'object' }]);
      clock.advance(1_000);
      expect(await kv.get(['stored', 'x'])).toBeUndefined();
      expect((await sql`select 1 from fedify_kv where key = ${'["stored","x"]'}`.execute(db.db)).rows).toEqual([]);
    });

    it('purgeExpired deletes the expired entries nobody read, and only those', async () => {
      const kv = createSqlKvStore(db.db, { clock });
      await kv.set(['purge', 'a'], 1, { ttl: Temporal.Duration.from({ seconds: 10 }) });
      await kv.set(['purge', 'b'], 2, { ttl: Temporal.Duration.from({ seconds: 10 }) });
      await kv.set(['purge', 'c'], 3, { ttl: Temporal.Duration.from({ hours: 1 }) });
      await kv.set(['purge', 'd'], 4);
      clock.advance(10_000);
      expect(await purgeExpired(db.db, { clock })).toBe(2);
      const left = await db.db.selectFrom('fedify_kv').select('key').where('key', 'like', '["purge",%').orderBy('key').execute();
      expect(left.map((r) => r.key)).toEqual(['["purge","c"]', '["purge","d"]']);
    });

    it('lists a prefix with more entries than one page holds, each once', async () => {
      const kv = createSqlKvStore(db.db, { clock });
      const count = 1_234;
      await db.db
        .insertInto('fedify_kv')
        .values(Array.from({ length: count }, (_, i) => ({ key: JSON.stringify(['many', String(i).padStart(4, '0')]), value: JSON.stringify(i) })))
        .execute();
      const seen = await collect(kv.list(['many']));
      expect(seen).toHaveLength(count);
      expect(new Set(seen.map((e) => e.value)).size).toBe(count);
    });

    it('counts months of a TTL from the current date', async () => {
      const start = createFixedClock(new Date('2026-01-31T00:00:00Z'));
      const kv = createSqlKvStore(db.db, { clock: start });
      await kv.set(['month'], 'v', { ttl: Temporal.Duration.from({ months: 1 }) });
      const row = await db.db.selectFrom('fedify_kv').select('expires_at').where('key', '=', '["month"]').executeTakeFirstOrThrow();
      expect(row.expires_at?.toISOString()).toBe('2026-02-28T00:00:00.000Z');
    });
  });
}

describe('Redis Fedify key–value store', () => {
  // A prefix per run keeps this file's keys apart from anything else using the server.
  const prefix = `rose-test:fedify:${randomBytes(4).toString('hex')}:`;
  let redis: Redis;

  describeKvContract('Redis', async () => {
    redis = new Redis(testRedisUrl);
    return {
      kv: createRedisKvStore(redis, { prefix }),
      pass: () => {},
      close: async () => {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await redis.unlink(...keys);
        } while (cursor !== '0');
        await redis.quit();
      },
    };
  });

  it('stores canonical JSON under the prefix and the key JSON, with Redis expiring it', async () => {
    const client = new Redis(testRedisUrl);
    try {
      const own = `${prefix}raw:`;
      const kv = createRedisKvStore(client, { prefix: own });
      await kv.set(['a', 'b'], { z: 1, a: { y: 2, b: 3 } }, { ttl: Temporal.Duration.from({ minutes: 5 }) });
      expect(await client.get(`${own}["a","b"]`)).toBe('{"a":{"b":3,"y":2},"z":1}');
      const ttl = await client.pttl(`${own}["a","b"]`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300_000);
      await client.del(`${own}["a","b"]`);
    } finally {
      await client.quit();
    }
  });
});
