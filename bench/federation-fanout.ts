/**
 * Fan-out of one post: `npm run bench -- --only fanout [--hosts 50 --per-host 20 --failing 10 --observe 30 --runs 3]`.
 *
 * 1. Our services in-process on a fresh Postgres database (ActivityPub allowed to reach
 *    loopback), the front handlers on an http server, the outbox worker as `rose serve` runs it
 *    (default poll, LISTEN/NOTIFY wake-ups).
 * 2. `--hosts` small receiving servers on 127.0.0.1, each on its own port (Fedify keys hosts by
 *    host:port, so each is its own instance for the shared inbox and the circuit breaker). They
 *    verify nothing: they count POSTs, by path and by signature spec, and answer 202; `--failing`
 *    of them answer 500 to every POST (always, for the whole run).
 * 3. `--hosts × --per-host` followers of the blog actor, inserted straight into
 *    `ap_remote_actors` + `ap_followers` (inbox `/users/uN/inbox`, shared inbox `/inbox`).
 * 4. One post: a blog post row, then `syncBlog()` (one Create to the followers). Wall time from
 *    `syncBlog()` until every healthy host has its delivery; POSTs per host (shared inboxes ⇒ one
 *    per host); the failing hosts' POSTs over the `--observe` window from the publish (Fedify
 *    retries with exponential back-off, and double-knocks: a refused delivery is sent again at
 *    once signed the other way); peak RSS sampled every 50 ms. Where the time went comes from
 *    the jobs table (the database's clock): each stage's job queued → claimed → finished.
 * 5. Baseline, same run (`--runs` times, median): the same signed body, signed per request
 *    (RFC 9421, the blog's RSA key, as Fedify's first knock) and POSTed by a plain fetch loop to
 *    the same shared inboxes, 8 at a time (the concurrency of the worker's Fedify task handler),
 *    no retries. Ratio: ours / baseline, until the last healthy host has its POST.
 */
import http from 'node:http';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { signRequest } from '@fedify/fedify';
import { sql } from 'kysely';
import pg from 'pg';
import type { Services } from '@rose/app';
import { answerInFront, createServices } from '@rose/app/server';
import { loadConfig } from '@rose/config';
import type { Worker } from '@rose/jobs';
import { createTestDatabase, freePort, makeProjectTempDir, repoRoot, type TestDatabase } from '@rose/testing';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '50' },
    'per-host': { type: 'string', default: '20' },
    failing: { type: 'string', default: '10' },
    observe: { type: 'string', default: '30' },
    runs: { type: 'string', default: '3' },
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
const hostCount = whole('hosts', 1, 500);
const perHost = whole('per-host', 1, 1000);
const failingCount = whole('failing', 0, hostCount - 1);
const observeSeconds = whole('observe', 5, 600);
const runs = whole('runs', 1, 10);
/** As many deliveries at once as the worker's Fedify task handler runs (fedifyTaskHandlers' default). */
const concurrency = 8;

const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () => `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => (x < 10 ? x.toFixed(1) : x.toFixed(0));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/**
 * Every statement this process sends to Postgres (the services' pool goes through the same
 * `pg` module), with when it was sent: the database round trips a delivery costs.
 */
const queries: { at: number; text: string }[] = [];
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0];
  queries.push({ at: performance.now(), text: typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '') });
  return originalQuery.apply(this, args);
} as never;
/** What a statement touches, for the round-trip count. */
function queryKind(text: string): string {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '?';
  if (verb === 'begin' || verb === 'commit' || verb === 'rollback') return 'begin/commit';
  const table = /"?(fedify_kv|jobs|ap_\w+|bench_\w+)"?/.exec(text)?.[1] ?? 'other';
  return `${verb} ${table}`;
}
function countKinds(list: { text: string }[]): string {
  const counts = new Map<string, number>();
  for (const q of list) counts.set(queryKind(q.text), (counts.get(queryKind(q.text)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
}

type Spec = 'rfc9421' | 'draft-cavage' | 'none';
interface Hit {
  at: number;
  path: string;
  spec: Spec;
  baseline: boolean;
}
interface Receiver {
  index: number;
  origin: string;
  failing: boolean;
  hits: Hit[];
  server: http.Server;
}

/** A receiving server: counts every POST, answers 202 (or 500 when failing); verifies nothing. */
async function startReceiver(index: number, failing: boolean, onHit: (r: Receiver, hit: Hit, body: string) => void): Promise<Receiver> {
  const server = http.createServer();
  const receiver: Receiver = { index, origin: '', failing, hits: [], server };
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        const spec: Spec = req.headers['signature-input'] ? 'rfc9421' : req.headers.signature ? 'draft-cavage' : 'none';
        const hit: Hit = { at: performance.now(), path: req.url ?? '', spec, baseline: req.headers['x-bench-baseline'] === '1' };
        receiver.hits.push(hit);
        onHit(receiver, hit, Buffer.concat(chunks).toString('utf8'));
      }
      res.writeHead(req.method !== 'POST' ? 404 : failing ? 500 : 202, { 'Content-Type': 'text/plain' }).end(failing ? 'down for the benchmark' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  receiver.origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return receiver;
}

/** Resolves when `check` holds, polling every 20 ms; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const receivers: Receiver[] = [];
let t: TestDatabase | undefined;
let services: Services | undefined;
let server: http.Server | undefined;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
let dataDir: string | undefined;
let sampler: NodeJS.Timeout | undefined;

try {
  log(`Fan-out of one post to ${hostCount * perHost} followers on ${hostCount} loopback hosts (${failingCount} answering 500 throughout), ${load()}`);

  // 1. Our server and its worker.
  t = await createTestDatabase('postgres');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  dataDir = await makeProjectTempDir('bench-fanout');
  const config = loadConfig({ DATABASE_URL: t.url, ROSE_SITE_URL: origin, ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES: 'true', ROSE_DATA_DIR: dataDir, ROSE_LOG_LEVEL: 'silent' }, { root: repoRoot });
  const svc = await createServices(config);
  services = svc;
  const httpServer = http.createServer((req, res) => {
    void (async () => {
      if (!(await answerInFront(svc.frontHandlers, req, res))) res.writeHead(404).end('not found');
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  server = httpServer;
  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  const federation = await svc.federation.federation();
  // When each job was claimed (the jobs table forgets it once the job is done): this
  // benchmark's own database only.
  await sql`create table bench_job_claims (job_id bigint not null, at timestamptz not null default clock_timestamp())`.execute(t.db);
  await sql`create function bench_job_claimed() returns trigger language plpgsql as $$ begin insert into bench_job_claims (job_id) values (new.id); return null; end $$`.execute(t.db);
  await sql`create trigger bench_job_claimed after update on jobs for each row when (new.status = 'running' and old.status is distinct from 'running') execute function bench_job_claimed()`.execute(t.db);
  worker = svc.jobs.startWorker();
  running = worker.run();
  // The worker's LISTEN connection is up (else the first job waits for a poll).
  const dbName = new URL(t.url!).pathname.slice(1);
  await waitFor('the worker listens for jobs', async () => Number((await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = ${dbName} and query ilike 'listen%'`.execute(t!.db)).rows[0]!.n) > 0, 30_000);

  // 2. The receivers.
  let firstBody: string | undefined;
  let healthyReached = 0;
  let onAllHealthy: (() => void) | undefined;
  const onHit = (r: Receiver, hit: Hit, body: string) => {
    if (hit.baseline || r.failing) return;
    firstBody ??= body;
    if (r.hits.filter((h) => !h.baseline).length === 1 && ++healthyReached === hostCount - failingCount) onAllHealthy?.();
  };
  for (let i = 0; i < hostCount; i++) receivers.push(await startReceiver(i, i < failingCount, onHit));
  const healthy = receivers.filter((r) => !r.failing);
  const failing = receivers.filter((r) => r.failing);

  // 3. The followers, straight into the tables.
  const followers = receivers.flatMap((r) => Array.from({ length: perHost }, (_, k) => ({ r, n: r.index * perHost + k })));
  for (let i = 0; i < followers.length; i += 500) {
    const chunk = followers.slice(i, i + 500);
    await t.db
      .insertInto('ap_remote_actors')
      .values(chunk.map(({ r, n }) => ({ uri: `${r.origin}/users/u${n}`, host: new URL(r.origin).host, handle: `u${n}`, type: 'Person', inbox: `${r.origin}/users/u${n}/inbox`, shared_inbox: `${r.origin}/inbox` })))
      .execute();
    await t.db
      .insertInto('ap_followers')
      .values(chunk.map(({ r, n }) => ({ actor: 'blog', follower_uri: `${r.origin}/users/u${n}`, follow_id: `${r.origin}/users/u${n}/follows/1`, status: 'accepted' as const })))
      .execute();
  }

  // 4. One post, fanned out.
  await t.db
    .insertInto('blog_posts')
    .values({ type: 'post', slug: 'fan-out', title: 'Fan-out', html: `<p>${'A post to every follower. '.repeat(40)}</p>`, status: 'published', visibility: 'public', published_at: new Date(), source: 'content' })
    .execute();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  const allHealthy = new Promise<void>((resolve) => (onAllHealthy = resolve));
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const summary = await svc.federation.syncBlog();
  const syncMs = performance.now() - t0;
  if (summary.created !== 1) throw new Error(`syncBlog created ${summary.created} objects, expected 1`);
  await Promise.race([allHealthy, new Promise((_, reject) => setTimeout(() => reject(new Error('not every healthy host got the post within 120 s')), 120_000).unref())]);
  const oursMs = performance.now() - t0;
  const oursBusy = performance.eventLoopUtilization(elu0);
  const rssAtDelivered = rssPeak;
  // The observation window: retries to the failing hosts, from the publish.
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + observeSeconds * 1000 - performance.now())));
  await worker.stop();
  await running;
  worker = undefined;
  clearInterval(sampler);
  sampler = undefined;

  // Where the time went, on the database's clock.
  const jobs = await sql<{ type: string; kind: string | null; attempt: number | null; inbox: string | null; created: number; run: number; locked: number | null; finished: number | null }>`
    with base as (select min(created_at) as t from jobs where type = 'federation.send')
    select type, payload->'message'->>'type' as kind, (payload->'message'->>'attempt')::int as attempt, payload->'message'->>'inbox' as inbox,
      extract(epoch from created_at - base.t) * 1000 as created, extract(epoch from run_at - base.t) * 1000 as run,
      extract(epoch from (select min(c.at) from bench_job_claims c where c.job_id = jobs.id) - base.t) * 1000 as locked, extract(epoch from finished_at - base.t) * 1000 as finished
    from jobs, base where type in ('federation.send', 'federation.task') order by id`.execute(t.db);
  const rows = jobs.rows.map((j) => ({ ...j, created: Number(j.created), run: Number(j.run), locked: j.locked === null ? null : Number(j.locked), finished: j.finished === null ? null : Number(j.finished) }));
  const send = rows.find((j) => j.type === 'federation.send');
  const fanout = rows.find((j) => j.kind === 'fanout');
  const firstTries = rows.filter((j) => j.kind === 'outbox' && j.attempt === 0);
  const retryJobs = rows.filter((j) => j.kind === 'outbox' && (j.attempt ?? 0) > 0);

  // 5. Baseline: the same body, signed per request, POSTed by a plain fetch loop.
  if (!firstBody) throw new Error('no healthy host recorded a body');
  const body = firstBody;
  const ctx = federation.createContext(new URL(origin), {});
  const rsa = (await ctx.getActorKeyPairs('blog')).find((p) => p.privateKey.algorithm.name === 'RSASSA-PKCS1-v1_5');
  if (!rsa) throw new Error('the blog actor has no RSA key');
  const baselineRun = async (): Promise<{ ms: number; busyMs: number }> => {
    const queue = [...receivers];
    let lastHealthy = 0;
    const elu = performance.eventLoopUtilization();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const request = new Request(`${r.origin}/inbox`, { method: 'POST', headers: { 'content-type': 'application/activity+json', 'x-bench-baseline': '1' }, body });
          const signed = await signRequest(request, rsa.privateKey, rsa.keyId, { spec: 'rfc9421' });
          const response = await fetch(signed);
          await response.arrayBuffer();
          if (response.status !== (r.failing ? 500 : 202)) throw new Error(`baseline POST to ${r.origin} answered ${response.status}`);
          if (!r.failing) lastHealthy = performance.now();
        }
      }),
    );
    return { ms: Math.max(lastHealthy - started, 0.001), busyMs: performance.eventLoopUtilization(elu).active };
  };
  const baselineRuns: { ms: number; busyMs: number }[] = [];
  for (let i = 0; i < runs; i++) baselineRuns.push(await baselineRun());
  const baselineMs = median(baselineRuns.map((r) => r.ms));
  const baselineBusyMs = median(baselineRuns.map((r) => r.busyMs));

  // 6. Report.
  const ours = (r: Receiver) => r.hits.filter((h) => !h.baseline);
  const healthyPosts = healthy.map((r) => ours(r).length);
  const personal = receivers.reduce((n, r) => n + ours(r).filter((h) => h.path !== '/inbox').length, 0);
  const firstAt = healthy.map((r) => ours(r)[0]!.at - t0);
  const failingPosts = failing.map((r) => ours(r).length);
  const failingFirstKnocks = failing.map((r) => ours(r).filter((h) => h.spec === 'rfc9421').length);
  const failingGaps = failing.flatMap((r) => {
    const knocks = ours(r).filter((h) => h.spec === 'rfc9421').map((h) => h.at);
    return knocks.slice(1).map((at, i) => at - knocks[i]!);
  });
  const totalPosts = healthyPosts.reduce((a, b) => a + b, 0) + failingPosts.reduce((a, b) => a + b, 0);
  const posts0 = (hits: (r: Receiver) => Hit[]) => receivers.reduce((n, r) => n + hits(r).filter((h) => h.at - t0 <= oursMs).length, 0);

  log('');
  log(`  publish → every healthy host has the post:  ${ms(oursMs).padStart(6)} ms   (syncBlog itself ${ms(syncMs)} ms; first host at ${ms(Math.min(...firstAt))} ms, median ${ms(median(firstAt))} ms, last ${ms(Math.max(...firstAt))} ms)`);
  log(`  baseline (signed fetch loop, ${concurrency} at a time):   ${ms(baselineMs).padStart(6)} ms   (runs: ${baselineRuns.map((r) => ms(r.ms)).join(', ')} ms)`);
  log(`  ratio ours / baseline:                     ${(oursMs / baselineMs).toFixed(1).padStart(6)}`);
  log(`  main thread busy meanwhile: ours ${ms(oursBusy.active)} ms (${(oursBusy.utilization * 100).toFixed(0)}% of the wall time), baseline ${ms(baselineBusyMs)} ms: ratio ${(oursBusy.active / baselineBusyMs).toFixed(1)} (the steadier figure on a busy machine)`);
  log('');
  log(`  POSTs until then: ${posts0(ours)} for ${hostCount} shared inboxes (${posts0((r) => (r.failing ? ours(r) : []))} of them to the failing hosts; ${personal} to personal inboxes over the whole run)`);
  log(`  healthy hosts: ${healthyPosts.every((n) => n === 1) ? 'exactly one POST each' : `POSTs per host ${Math.min(...healthyPosts)}–${Math.max(...healthyPosts)}`} (${healthyPosts.reduce((a, b) => a + b, 0)} in all)`);
  if (failing.length) {
    log(`  failing hosts over ${observeSeconds} s: ${failingPosts.reduce((a, b) => a + b, 0)} POSTs = ${failingFirstKnocks.reduce((a, b) => a + b, 0)} attempts (per host ${Math.min(...failingFirstKnocks)}–${Math.max(...failingFirstKnocks)}: the first and ${median(failingFirstKnocks) - 1} retries),`);
    log(`    ${failingPosts.reduce((a, b) => a + b, 0) === 2 * failingFirstKnocks.reduce((a, b) => a + b, 0) ? 'each attempt two POSTs (RFC 9421, then draft-cavage at once: Fedify double-knocks on any status ≥ 400, 500 included)' : `${failingPosts.reduce((a, b) => a + b, 0) - failingFirstKnocks.reduce((a, b) => a + b, 0)} of them second knocks (draft-cavage)`};`);
    if (failingGaps.length) log(`    gaps between attempts ${failingGaps.map((g) => (g / 1000).toFixed(1)).sort((a, b) => Number(a) - Number(b)).filter((g, i, all) => i === 0 || all[i - 1] !== g).join(' ')} s`);
    const lags = retryJobs.filter((j) => j.locked !== null).map((j) => j.locked! - j.run);
    if (lags.length) log(`    retry jobs run: ${lags.length}; claimed after they were due by median ${ms(median(lags))} ms, max ${ms(Math.max(...lags))} ms (the worker sleeps until the next delayed job is due, at most one poll)`);
  }
  const during = queries.filter((q) => q.at >= t0 && q.at <= t0 + oursMs);
  log(`  database statements from publish to delivered: ${during.length} (${(during.length / hostCount).toFixed(1)} per inbox): ${countKinds(during)}`);
  log(`  peak RSS: ${mib(rssAtDelivered)} MiB until delivered, ${mib(rssPeak)} MiB over the window (${mib(rssBefore)} MiB before the publish; process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB)`);
  log('');
  log('  where the time went (database clock, ms from the federation.send job being queued; queued → claimed → finished):');
  const stage = (name: string, j: { created: number; locked: number | null; finished: number | null } | undefined) => (j ? log(`    ${name.padEnd(44)} ${ms(j.created).padStart(6)} → ${ms(j.locked ?? Number.NaN).padStart(6)} → ${ms(j.finished ?? Number.NaN).padStart(6)}`) : log(`    ${name}: none`));
  stage('federation.send (our delivery, from syncBlog)', send);
  stage('federation.task fanout (Fedify: followers → inboxes)', fanout);
  if (firstTries.length) {
    const claimed = firstTries.map((j) => j.locked ?? Number.NaN);
    log(`    ${`federation.task outbox ×${firstTries.length} (one per inbox)`.padEnd(44)} ${ms(Math.min(...firstTries.map((j) => j.created))).padStart(6)} → ${ms(Math.min(...claimed)).padStart(6)} → ${ms(Math.max(...firstTries.filter((j) => !j.inbox || !failing.some((r) => j.inbox!.startsWith(r.origin))).map((j) => j.finished ?? Number.NaN))).padStart(6)} (last healthy one finished; claimed from ${ms(Math.min(...claimed))} to ${ms(Math.max(...claimed))})`);
  }
  log(`  ${load()}`);
} finally {
  if (sampler) clearInterval(sampler);
  if (worker) {
    await worker.stop();
    await running;
  }
  for (const r of receivers) r.server.closeAllConnections();
  await Promise.all(receivers.map((r) => new Promise((resolve) => r.server.close(resolve))));
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await services?.close();
  await t?.drop();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
}
