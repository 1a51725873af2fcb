import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Temporal } from '@js-temporal/polyfill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederation, generateCryptoKeyPair, type Message } from '@fedify/fedify';
import { Create, Note, Person } from '@fedify/vocab';
import { createFixedClock } from '@rose/core';
import { createWorker } from '@rose/jobs';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { createSqlKvStore } from './fedify-kv.ts';
import { createJobsMessageQueue, fedifyTaskHandlers, fedifyTaskJob } from './fedify-queue.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Polls `check` until it holds; fails after a generous deadline. */
async function until(check: () => Promise<boolean> | boolean, what: string, deadlineMs = 15_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Shaped like Fedify's outbox message (ids, URLs and times as strings; optional fields undefined). */
function outboxMessage(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'outbox',
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    baseUrl: 'https://rose.example',
    keys: [{ keyId: 'https://rose.example/users/blog#main-key', privateKey: { kty: 'RSA', n: 'abc', e: 'AQAB', d: 'xyz' } }],
    activity: { '@context': 'https://www.w3.org/ns/activitystreams', type: 'Create', object: { type: 'Note', content: `<p>Café ☕ n°${n}</p>` } },
    activityId: `https://rose.example/activities/${n}`,
    activityType: 'https://www.w3.org/ns/activitystreams#Create',
    inbox: 'https://remote.example/inbox',
    sharedInbox: undefined,
    actorIds: ['https://remote.example/users/a'],
    started: '2026-12-02T12:00:00.000Z',
    attempt: 0,
    headers: {},
    orderingKey: undefined,
    traceContext: {},
    ...extra,
  };
}

/** What comes out of JSON: Fedify's undefined fields are gone. */
const asJson = (message: unknown) => JSON.parse(JSON.stringify(message)) as unknown;

describe.each(databaseKinds)('Fedify tasks on the outbox (%s)', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.drop());

  const clearJobs = () => t.db.deleteFrom('jobs').execute();

  it('runs a queued message through process, unchanged by the trip through the table', async () => {
    await clearJobs();
    let poked = 0;
    const queue = createJobsMessageQueue(t.db, { onEnqueued: () => poked++ });
    const message = outboxMessage(1, { nested: { deep: [1, 2.5, null, true, 'ünïcode \u2028 "q"'] } });
    await queue.enqueue(message);
    expect(poked).toBe(1);

    const seen: Message[] = [];
    const worker = createWorker({ db: t.db, handlers: fedifyTaskHandlers(async (m) => void seen.push(m)), logger: silent });
    expect(await worker.drain()).toBe(1);
    expect(seen).toEqual([asJson(message)]);
    expect(Object.keys(seen[0]!)).not.toContain('sharedInbox');
    const job = await t.db.selectFrom('jobs').select(['type', 'status']).executeTakeFirstOrThrow();
    expect(job).toEqual({ type: fedifyTaskJob.type, status: 'done' });
  });

  it('does not run a delayed message before its time, and counts it as delayed', async () => {
    await clearJobs();
    const start = new Date();
    const queue = createJobsMessageQueue(t.db, { clock: createFixedClock(start) });
    await queue.enqueue(outboxMessage(2), { delay: Temporal.Duration.from({ hours: 1 }) });
    await queue.enqueue(outboxMessage(3));
    // A minute on: the undelayed message (queued at the database's now) is due whatever the machine's speed.
    const clock = createFixedClock(new Date(start.getTime() + 60_000));
    expect(await createJobsMessageQueue(t.db, { clock }).getDepth()).toEqual({ queued: 2, ready: 1, delayed: 1 });

    const seen: string[] = [];
    const worker = createWorker({ db: t.db, handlers: fedifyTaskHandlers(async (m) => void seen.push(m.id)), logger: silent, clock });
    await worker.drain();
    expect(seen).toEqual([outboxMessage(3).id]);
    expect(await createJobsMessageQueue(t.db, { clock }).getDepth()).toEqual({ queued: 1, ready: 0, delayed: 1 });

    clock.advance(60 * 60_000);
    await worker.drain();
    expect(seen).toEqual([outboxMessage(3).id, outboxMessage(2).id]);
    expect(await queue.getDepth()).toEqual({ queued: 0, ready: 0, delayed: 0 });
  });

  it('enqueueMany queues every message at once, or none when one is not a JSON object', async () => {
    await clearJobs();
    let poked = 0;
    const queue = createJobsMessageQueue(t.db, { onEnqueued: () => poked++ });
    await queue.enqueueMany([outboxMessage(4), outboxMessage(5), outboxMessage(6)]);
    expect(poked).toBe(1);
    expect(await queue.getDepth()).toMatchObject({ queued: 3, ready: 3 });

    await expect(queue.enqueueMany([outboxMessage(7), ['not', 'an', 'object']])).rejects.toThrow('A Fedify task must be a JSON object; got an array');
    expect(await queue.getDepth()).toMatchObject({ queued: 3 });

    const seen: string[] = [];
    await createWorker({ db: t.db, handlers: fedifyTaskHandlers(async (m) => void seen.push(m.id)), logger: silent }).drain();
    expect(seen.sort()).toEqual([outboxMessage(4).id, outboxMessage(5).id, outboxMessage(6).id]);
    await queue.enqueueMany([]);
    expect(poked).toBe(1);
  });

  it('counts only waiting messages, not the ones a worker is running', async () => {
    await clearJobs();
    const queue = createJobsMessageQueue(t.db);
    await queue.enqueueMany([outboxMessage(8), outboxMessage(9)]);
    const release = gate();
    let running = 0;
    const worker = createWorker({
      db: t.db,
      handlers: fedifyTaskHandlers(async () => {
        running++;
        await release.promise;
      }),
      logger: silent,
    });
    const draining = worker.drain();
    await until(() => running === 2, 'both messages run');
    expect(await queue.getDepth()).toEqual({ queued: 0, ready: 0, delayed: 0 });
    release.open();
    expect(await draining).toBe(2);
  });

  it('retries a message that throws on its own, and finishes the others', async () => {
    await clearJobs();
    const queue = createJobsMessageQueue(t.db);
    await queue.enqueueMany([outboxMessage(10), outboxMessage(11), outboxMessage(12)]);
    const calls: string[] = [];
    const flaky = outboxMessage(11).id;
    const clock = createFixedClock(new Date(Date.now() + 60_000));
    const worker = createWorker({
      db: t.db,
      clock,
      logger: silent,
      handlers: fedifyTaskHandlers(async (m) => {
        calls.push(m.id);
        if (m.id === flaky && calls.filter((id) => id === flaky).length === 1) throw new Error('database went away mid-task');
      }),
    });
    await worker.drain();
    const rows = await t.db.selectFrom('jobs').select(['status', 'attempts', 'last_error', 'payload']).orderBy('id').execute();
    expect(rows.map((r) => [r.status, r.last_error])).toEqual([
      ['done', null],
      ['pending', 'database went away mid-task'],
      ['done', null],
    ]);
    expect(await createJobsMessageQueue(t.db, { clock }).getDepth()).toEqual({ queued: 1, ready: 0, delayed: 1 });

    clock.advance(10 * 60_000); // past the outbox's back-off
    await worker.drain();
    expect(calls.sort()).toEqual([outboxMessage(10).id, flaky, flaky, outboxMessage(12).id].sort());
    expect((await t.db.selectFrom('jobs').select('status').execute()).map((r) => r.status)).toEqual(['done', 'done', 'done']);
  });

  it('runs messages that share an ordering key one at a time, oldest first', async () => {
    await clearJobs();
    const queue = createJobsMessageQueue(t.db);
    for (const n of [13, 14, 15]) await queue.enqueue(outboxMessage(n), { orderingKey: 'note-1\nhttps://remote.example' });
    await queue.enqueue(outboxMessage(16));
    const events: string[] = [];
    let inLane = 0;
    let overlapped = false;
    const worker = createWorker({
      db: t.db,
      logger: silent,
      handlers: fedifyTaskHandlers(async (m) => {
        const keyed = m.id !== outboxMessage(16).id;
        if (keyed && ++inLane > 1) overlapped = true;
        events.push(m.id);
        // Yield to the event loop several times so another lane could interleave.
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        if (keyed) inLane--;
      }),
    });
    await worker.drain();
    expect(overlapped).toBe(false);
    expect(events.filter((id) => id !== outboxMessage(16).id)).toEqual([outboxMessage(13).id, outboxMessage(14).id, outboxMessage(15).id]);
    expect(events).toContain(outboxMessage(16).id);
  });

  it('starts no further message once the batch is past its deadline; those are retried', async () => {
    await clearJobs();
    const queue = createJobsMessageQueue(t.db);
    await queue.enqueueMany([outboxMessage(18), outboxMessage(19)]);
    const release = gate();
    const overdue = gate();
    const calls: string[] = [];
    const log = (_obj: object, msg: string) => {
      if (msg.startsWith('jobs ran past their deadline')) overdue.open();
    };
    const worker = createWorker({
      db: t.db,
      logger: { info: () => {}, warn: () => {}, error: log },
      deadlines: { [fedifyTaskJob.type]: 50 },
      handlers: fedifyTaskHandlers(
        async (m) => {
          calls.push(m.id);
          await release.promise;
        },
        { concurrency: 1 },
      ),
    });
    await worker.drain();
    await overdue.promise;
    release.open();
    // The worker hands the whole batch back for a retry once the handler has returned.
    await until(async () => (await t.db.selectFrom('jobs').select('status').where('status', '=', 'pending').execute()).length === 2, 'both jobs are back for a retry');
    expect(calls).toEqual([outboxMessage(18).id]);
    await clearJobs();
  });

  it('listen runs nothing and resolves when its signal aborts', async () => {
    const queue = createJobsMessageQueue(t.db);
    expect(queue.nativeRetrial).toBe(false);
    const controller = new AbortController();
    let resolved = false;
    let handled = 0;
    const listening = queue.listen(() => void handled++, { signal: controller.signal }).then(() => (resolved = true));
    await queue.enqueue(outboxMessage(17));
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    controller.abort();
    await listening;
    expect(resolved).toBe(true);
    expect(handled).toBe(0);
    await expect(queue.listen(() => {}, { signal: AbortSignal.abort() })).resolves.toBeUndefined();
    await clearJobs();
  });

  it("delivers an activity Fedify queued: Fedify's own messages survive the jobs table", async () => {
    await clearJobs();
    const received: { body: Record<string, unknown>; headers: http.IncomingHttpHeaders }[] = [];
    const inbox = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ body: JSON.parse(body) as Record<string, unknown>, headers: req.headers });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => inbox.listen(0, '127.0.0.1', r));
    const remote = `http://127.0.0.1:${(inbox.address() as AddressInfo).port}`;
    try {
      const keyPair = await generateCryptoKeyPair('Ed25519');
      const rsa = await generateCryptoKeyPair('RSASSA-PKCS1-v1_5');
      const queue = createJobsMessageQueue(t.db);
      const federation = createFederation<void>({ kv: createSqlKvStore(t.db), queue, manuallyStartQueue: true, allowPrivateAddress: true });
      federation
        .setActorDispatcher('/users/{identifier}', async (ctx, identifier) => new Person({ id: ctx.getActorUri(identifier), inbox: ctx.getInboxUri(identifier), preferredUsername: identifier }))
        .setKeyPairsDispatcher(async () => [rsa, keyPair]);
      federation.setInboxListeners('/users/{identifier}/inbox', '/inbox');

      const ctx = federation.createContext(new URL('https://rose.example'), undefined);
      const activity = new Create({
        id: new URL('https://rose.example/activities/1'),
        actor: ctx.getActorUri('blog'),
        object: new Note({ id: new URL('https://rose.example/notes/1'), content: '<p>Café ☕</p>' }),
      });
      await ctx.sendActivity({ identifier: 'blog' }, { id: new URL(`${remote}/users/bob`), inboxId: new URL(`${remote}/users/bob/inbox`) }, activity);
      expect(await queue.getDepth()).toMatchObject({ queued: 1 });
      expect(received).toEqual([]);

      const worker = createWorker({ db: t.db, handlers: fedifyTaskHandlers((m) => federation.processQueuedTask(undefined, m)), logger: silent });
      await worker.drain();
      expect(received).toHaveLength(1);
      expect(received[0]!.body).toMatchObject({ type: 'Create', id: 'https://rose.example/activities/1', object: { type: 'Note', content: '<p>Café ☕</p>' } });
      expect(received[0]!.headers['signature-input'] ?? received[0]!.headers.signature).toBeDefined();
      expect((await t.db.selectFrom('jobs').select('status').execute()).map((r) => r.status)).toEqual(['done']);
    } finally {
      await new Promise((r) => inbox.close(r));
    }
  });
});
