/**
 * Inbox deliveries: `npm run bench -- --only inbox [--deliveries 2000 --rounds 2 --concurrency 20]`.
 *
 * 1. Two of our servers in-process, each with its own fresh Postgres database and its own http
 *    server in front (the services' front handlers, as `rose serve` mounts them): ours, and
 *    the baseline, the same services with Fedify told to skip signature verification. Both
 *    have the blog actor and enough blog posts published as Articles for every Like to be a new
 *    one, so both do the same work for each delivery.
 * 2. A real Fedify peer (`startFedifyPeer`, 20 actors) signs every delivery before anything is
 *    timed (RFC 9421, each actor's RSA key; every one a distinct activity id), half Likes of
 *    our Articles, half Creates of a Note replying to one and mentioning the blog actor.
 *    Received activities are handled in their request, so a 202 is a delivery verified (or
 *    not, for the baseline), recorded in `ap_inbox` and applied.
 * 3. The pre-signed requests are replayed from a worker thread, `--concurrency` at a time, so
 *    the sender's cost (signing, the HTTP client) is not on the server's thread; a few dozen
 *    warm-up deliveries first (the key fetches, connections). `--rounds` rounds, ours and the
 *    baseline in alternating order; deliveries/s (202s only) per phase, medians.
 * 4. Ratio: ours / baseline, in deliveries/s and in main-thread CPU per delivery (the steadier
 *    figure on a busy machine), and the database statements each delivery cost.
 *
 * `createRoseFederation` has no `skipSignatureVerification` option; the baseline sets the
 * field Fedify 2.3.6 reads on each request (`FederationImpl.skipSignatureVerification`) on its
 * federation instance, and checks that an unsigned delivery is then accepted.
 */
import http from 'node:http';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker as Thread } from 'node:worker_threads';
import { sql } from 'kysely';
import pg from 'pg';
import type { Services } from '@rose/app';
import { answerInFront, createServices } from '@rose/app/server';
import { loadConfig } from '@rose/config';
import { createTestDatabase, freePort, makeProjectTempDir, repoRoot, startFedifyPeer, type FedifyPeer, type TestDatabase } from '@rose/testing';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '20' },
  },
  strict: false,
});
const whole = (name: string, min: number, max: number): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
};
const deliveries = whole('deliveries', 20, 50_000);
const rounds = whole('rounds', 1, 10);
const concurrency = whole('concurrency', 1, 200);
const actorNames = Array.from({ length: 20 }, (_, i) => `sender${i}`);
const warmUps = actorNames.length * 2;

const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () => `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/**
 * Every statement this process sends to Postgres (the services' pools go through the same
 * `pg` module), with when it was sent: the database round trips a delivery costs.
 */
const queries: { at: number; text: string }[] = [];
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0];
  queries.push({ at: performance.now(), text: typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '') });
  return originalQuery.apply(this, args);
} as never;
function queryKind(text: string): string {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '?';
  if (verb === 'begin' || verb === 'commit' || verb === 'rollback') return verb;
  return `${verb} ${/"?(fedify_kv|jobs|ap_\w+)"?/.exec(text)?.[1] ?? 'other'}`;
}

interface Prepared {
  url: string;
  headers: [string, string][];
  body: string;
}
interface Phase {
  ms: number;
  statuses: Record<string, number>;
  latencies: number[];
}

/**
 * The sender: a worker thread that replays prepared requests `concurrency` at a time and
 * reports statuses, latencies and the time from the first request to the last answer.
 */
const senderCode = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ requests, concurrency }) => {
  try {
    const statuses = {};
    const latencies = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i];
        const t = performance.now();
        const res = await fetch(r.url, { method: 'POST', headers: r.headers, body: r.body });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        statuses[res.status] = (statuses[res.status] || 0) + 1;
      }
    }));
    parentPort.postMessage({ ms: performance.now() - started, statuses, latencies });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.stack) || error) });
  }
});`;

interface Instance {
  name: string;
  t: TestDatabase;
  services: Services;
  server: http.Server;
  origin: string;
  dataDir: string;
  articles: string[];
}

const instances: Instance[] = [];
let peer: FedifyPeer | undefined;
let sender: Thread | undefined;

/** Our services on a fresh database behind an http server, with the blog actor and `posts` published Articles. */
async function startInstance(name: string, posts: number): Promise<Instance> {
  const t = await createTestDatabase('postgres');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = await makeProjectTempDir(`bench-inbox-${name}`);
  const config = loadConfig({ DATABASE_URL: t.url, ROSE_SITE_URL: origin, ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES: 'true', ROSE_FEDERATION_INBOX_PER_MINUTE: '0', ROSE_DATA_DIR: dataDir, ROSE_LOG_LEVEL: 'silent' }, { root: repoRoot });
  const services = await createServices(config);
  const server = http.createServer((req, res) => {
    void (async () => {
      if (!(await answerInFront(services.frontHandlers, req, res))) res.writeHead(404).end('not found');
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  const instance: Instance = { name, t, services, server, origin, dataDir, articles: [] };
  instances.push(instance);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await services.federation.federation();
  const now = Date.now();
  await t.db
    .insertInto('blog_posts')
    .values(Array.from({ length: posts }, (_, i) => ({ type: 'post', slug: `post-${i}`, title: `Post ${i}`, html: `<p>Post ${i}.</p>`, status: 'published', visibility: 'public', published_at: new Date(now - i * 60_000), source: 'content' })))
    .execute();
  await services.federation.syncBlog();
  const objects = await t.db.selectFrom('ap_objects').select('id').where('actor', '=', 'blog').orderBy('published_at', 'desc').execute();
  instance.articles = objects.map((o) => `${origin}/ap/articles/${o.id}`);
  if (instance.articles.length !== posts) throw new Error(`${name}: ${instance.articles.length} Articles published, expected ${posts}`);
  return instance;
}

/** Delivery `i` of a run tagged `tag`: even ones Like an Article, odd ones Create a reply to one mentioning the blog actor. */
function activity(p: FedifyPeer, target: Instance, tag: string, i: number): { as: string; body: Record<string, unknown> } {
  const as = actorNames[i % actorNames.length]!;
  const actor = p.actorId(as);
  // Each (actor, Article) pair once per run of Likes, so a Like is a new reaction, not a repeat.
  const article = target.articles[Math.floor(i / actorNames.length) % target.articles.length]!;
  const id = `${actor}/activities/${tag}-${i}`;
  if (i % 2 === 0) return { as, body: { '@context': 'https://www.w3.org/ns/activitystreams', id, type: 'Like', actor, object: article } };
  const blog = `${target.origin}/ap/actors/blog`;
  const published = new Date().toISOString();
  const audience = { to: ['https://www.w3.org/ns/activitystreams#Public'], cc: [blog] };
  return {
    as,
    body: {
      '@context': 'https://www.w3.org/ns/activitystreams',
      id,
      type: 'Create',
      actor,
      published,
      ...audience,
      object: {
        id: `${actor}/notes/${tag}-${i}`,
        type: 'Note',
        attributedTo: actor,
        content: `<p><span class="h-card"><a href="${blog}" class="u-url mention">@<span>blog</span></a></span> Lovely post, thank you! (${i})</p>`,
        inReplyTo: article,
        published,
        ...audience,
        tag: [{ type: 'Mention', href: blog, name: `@blog@${new URL(target.origin).host}` }],
      },
    },
  };
}

/** Signs deliveries with the peer's own `sendRaw`, capturing each signed request instead of sending it. */
async function presign(p: FedifyPeer, target: Instance, tag: string, count: number, offset = 0): Promise<Prepared[]> {
  const captured: Prepared[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    const request = input as Request;
    captured.push({ url: request.url, headers: [...request.headers].filter(([k]) => k !== 'host' && k !== 'content-length' && k !== 'connection'), body: await request.text() });
    return new Response(null, { status: 202 });
  }) as typeof fetch;
  try {
    const inbox = `${target.origin}/ap/inbox`;
    for (let i = 0; i < count; i += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, count - i) }, (_, k) => {
          const { as, body } = activity(p, target, tag, offset + i + k);
          return p.sendRaw(inbox, body, { as });
        }),
      );
    }
  } finally {
    globalThis.fetch = realFetch;
  }
  if (captured.length !== count) throw new Error(`captured ${captured.length} signed requests, expected ${count}`);
  return captured;
}

function replay(requests: Prepared[]): Promise<Phase> {
  return new Promise((resolve, reject) => {
    sender!.once('message', (m: Phase & { error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    sender!.postMessage({ requests, concurrency });
  });
}

try {
  log(`Inbox deliveries at ${concurrency} concurrent senders: signatures verified (ours) vs Fedify skipping verification (baseline), ${load()}`);
  // Likes are the even deliveries, so every twentieth delivery moves on to the next Article:
  // enough Articles that no actor likes one twice.
  const posts = Math.ceil((deliveries * rounds + warmUps) / actorNames.length);
  const ours = await startInstance('ours', posts);
  const baseline = await startInstance('baseline', posts);
  const fed = (await baseline.services.federation.federation()) as unknown as { skipSignatureVerification?: unknown };
  if (fed.skipSignatureVerification !== false) {
    throw new Error('Fedify no longer keeps `skipSignatureVerification` on its federation object; give createRoseFederation a `skipSignatureVerification` option (passed to createFederation) and use it here');
  }
  fed.skipSignatureVerification = true;
  peer = await startFedifyPeer({ actors: actorNames });
  sender = new Thread(senderCode, { eval: true });

  // The baseline really skips verification; ours really verifies.
  const unsigned = (target: Instance) => peer!.sendRaw(`${target.origin}/ap/inbox`, activity(peer!, target, 'unsigned', 1).body, { as: actorNames[0]!, sign: 'none' });
  const [oursUnsigned, baseUnsigned] = [(await unsigned(ours)).status, (await unsigned(baseline)).status];
  if (oursUnsigned !== 401 || baseUnsigned !== 202) throw new Error(`an unsigned delivery: ours answered ${oursUnsigned} (expected 401), the baseline ${baseUnsigned} (expected 202)`);

  // Everything signed before anything is timed.
  const signStarted = performance.now();
  const warm = new Map<Instance, Prepared[]>();
  for (const target of [ours, baseline]) warm.set(target, await presign(peer, target, 'warm', warmUps, deliveries * rounds));
  const prepared = new Map<string, Prepared[]>();
  for (let r = 0; r < rounds; r++) for (const target of [ours, baseline]) prepared.set(`${target.name}:${r}`, await presign(peer, target, `r${r}`, deliveries, r * deliveries));
  log(`  signed ${(warmUps + deliveries * rounds) * 2} deliveries in ${((performance.now() - signStarted) / 1000).toFixed(1)} s (not timed below)`);

  for (const target of [ours, baseline]) {
    const phase = await replay(warm.get(target)!);
    if ((phase.statuses['202'] ?? 0) !== warmUps) throw new Error(`warm-up of ${target.name}: ${JSON.stringify(phase.statuses)}`);
  }

  const results: Record<string, { rate: number; busyUs: number; statements: number; phase: Phase }[]> = { ours: [], baseline: [] };
  const statementsBy: Record<string, { text: string }[]> = { ours: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    for (const target of r % 2 === 0 ? [ours, baseline] : [baseline, ours]) {
      const elu = performance.eventLoopUtilization();
      const from = performance.now();
      const phase = await replay(prepared.get(`${target.name}:${r}`)!);
      const busy = performance.eventLoopUtilization(elu);
      const to = performance.now();
      const accepted = phase.statuses['202'] ?? 0;
      const during = queries.filter((q) => q.at >= from && q.at <= to);
      statementsBy[target.name]!.push(...during);
      results[target.name]!.push({ rate: accepted / (phase.ms / 1000), busyUs: (busy.active * 1000) / Math.max(1, accepted), statements: during.length / Math.max(1, accepted), phase });
      log(`  round ${r + 1} ${target.name.padEnd(8)} ${Math.round(accepted / (phase.ms / 1000)).toString().padStart(5)} deliveries/s   ${JSON.stringify(phase.statuses)} in ${(phase.ms / 1000).toFixed(1)} s, main thread ${(busy.utilization * 100).toFixed(0)}% busy`);
    }
  }

  // What the deliveries became: both should have done the same.
  const outcomes = async (target: Instance) =>
    (await sql<{ type: string; outcome: string; n: string }>`select type, outcome, count(*) as n from ap_inbox group by type, outcome order by type, outcome`.execute(target.t.db)).rows.map((o) => `${o.type} ${o.outcome} ${o.n}`).join(', ');

  const summary = (name: string) => {
    const rs = results[name]!;
    const all = rs.flatMap((r) => r.phase.latencies);
    return { rate: median(rs.map((r) => r.rate)), busyUs: median(rs.map((r) => r.busyUs)), statements: median(rs.map((r) => r.statements)), p50: quantile(all, 0.5), p99: quantile(all, 0.99) };
  };
  const o = summary('ours');
  const b = summary('baseline');
  const kinds = (name: string) => {
    const counts = new Map<string, number>();
    for (const q of statementsBy[name]!) counts.set(queryKind(q.text), (counts.get(queryKind(q.text)) ?? 0) + 1);
    const accepted = results[name]!.reduce((n, r) => n + (r.phase.statuses['202'] ?? 0), 0);
    return [...counts].sort((x, y) => y[1] - x[1]).slice(0, 12).map(([k, n]) => `${k} ${(n / accepted).toFixed(2)}`).join(', ');
  };
  log('');
  log(`  | ${concurrency} senders | deliveries/s | latency p50 / p99 ms | main-thread CPU µs per delivery | statements per delivery |`);
  log('  |---|---:|---:|---:|---:|');
  log(`  | ours (verified) | ${o.rate.toFixed(0)} | ${o.p50.toFixed(0)} / ${o.p99.toFixed(0)} | ${o.busyUs.toFixed(0)} | ${o.statements.toFixed(1)} |`);
  log(`  | baseline (no verification) | ${b.rate.toFixed(0)} | ${b.p50.toFixed(0)} / ${b.p99.toFixed(0)} | ${b.busyUs.toFixed(0)} | ${b.statements.toFixed(1)} |`);
  log(`  ratio ours / baseline: deliveries/s ${(o.rate / b.rate).toFixed(2)}, CPU per delivery ${(o.busyUs / b.busyUs).toFixed(2)}, statements per delivery ${(o.statements / b.statements).toFixed(2)}`);
  log(`  (medians over ${rounds} round(s) of ${deliveries} deliveries, half Like, half Create; unsigned delivery: ours ${oursUnsigned}, baseline ${baseUnsigned})`);
  log(`  statements per delivery, ours: ${kinds('ours')}`);
  log(`  statements per delivery, baseline: ${kinds('baseline')}`);
  log(`  ap_inbox, ours: ${await outcomes(ours)}`);
  log(`  ap_inbox, baseline: ${await outcomes(baseline)}`);
  log(`  ${load()}`);
} finally {
  await sender?.terminate();
  await peer?.close();
  for (const i of instances) {
    i.server.closeAllConnections();
    await new Promise((resolve) => i.server.close(resolve));
    await i.services.close();
    await i.t.drop();
    await fs.rm(i.dataDir, { recursive: true, force: true });
  }
}
