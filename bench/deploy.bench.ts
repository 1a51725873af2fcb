/**
 * Deploy benchmark: `npm run bench -- --only deploy --posts 10000 --runs 3`.
 *
 * Ships to an ssh target on loopback (a real OpenSSH sshd, as in the tests) that a real
 * `rose serve` on Postgres follows:
 * 1. N generated posts seeded into a fresh Postgres database; a full Astro build into the
 *    target's staging folder, uploaded over ssh, made live; `rose serve` started on it.
 * 2. The first `rose deploy` of the target (nothing recorded yet: every part rendered again).
 * 3. R one-post deploys: one post's title changed in the content, plan = blog only → seed →
 *    targeted build → upload (the changed files; the rest hard-linked on the far side) →
 *    switch → `/api/ready` through the front door reports the new release. Median wall time
 *    and where it went, per step.
 * Baseline in the same run: rsync of the whole release over the same ssh without
 * `--link-dest` (what shipping a release without reusing the live one costs).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { deployBuild, openDeploy } from '@rose/app/deploy';
import { seedContent } from '@rose/blog';
import { loadConfig } from '@rose/config';
import { createMigrations, openDatabase } from '@rose/db';
import { createSshTarget, runDeploy, sshArgs, type GitRepo } from '@rose/deploy';
import { createEmptyPostgresDatabase, freePort, startRose, startSshd } from '@rose/testing';
import { generatedBundle } from './generated-posts.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { posts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } }, strict: false });
const posts = Number(values.posts);
const runs = Number(values.runs);
if (!Number.isInteger(posts) || posts < 10 || posts > 200_000) throw new Error('--posts must be a whole number from 10 to 200000');
if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs must be a whole number from 1 to 20');
const log = (s: string) => process.stdout.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const scratch = path.join(root, '.rose', 'bench', `deploy-${Date.now()}`);
const far = path.join(scratch, 'far');
await fs.mkdir(far, { recursive: true });
log(`Rose Ash deploy benchmark — ${posts} posts, ssh target on loopback (scratch: ${path.relative(root, scratch)}; load average ${os.loadavg()[0]!.toFixed(1)})`);

const pg = await createEmptyPostgresDatabase();
const sshd = await startSshd({ root: far });
let server: Awaited<ReturnType<typeof startRose>> | undefined;
const cleanup = async () => {
  await server?.stop();
  await sshd.stop();
  await pg.drop();
  if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });
};
try {
  let t = performance.now();
  const bundle = generatedBundle(posts);
  {
    const handle = await openDatabase({ kind: 'postgres', url: pg.url });
    await createMigrations(handle.db, path.join(root, 'migrations')).migrateToLatest();
    await seedContent(handle.db, bundle);
    await handle.close();
  }
  log(`  seeded ${posts} posts into Postgres in ${secs(performance.now() - t)}`);

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const targetsFile = path.join(scratch, 'targets.json');
  await fs.writeFile(
    targetsFile,
    JSON.stringify({
      targets: {
        bench: { kind: 'ssh', host: sshd.destination, port: sshd.port, path: far, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, url: origin, env: { DATABASE_URL: '${BENCH_DATABASE_URL}' }, healthTimeoutSeconds: 120 },
      },
    }),
  );
  const quiet = { log: () => {}, info: () => {}, progress: () => ({ tick() {}, setTotal() {}, done() {} }), verbose: false };
  const local = loadConfig({ ROSE_DATA_DIR: path.join(scratch, 'data') }, { root });
  const opened = await openDeploy(local, { BENCH_DATABASE_URL: pg.url }, { targetsFile, out: quiet });

  t = performance.now();
  const first = await deployBuild(opened.config, quiet)({ parts: [], code: true }, undefined);
  log(`  first build (Astro) in ${secs(performance.now() - t)}: ${first.summary}`);
  const target = createSshTarget(opened.target as Parameters<typeof createSshTarget>[0]);
  t = performance.now();
  const full = await target.upload(first, undefined);
  const fullUploadMs = performance.now() - t;
  await target.activate(first.id);
  log(`  first upload over ssh: ${full.files} files, ${(full.bytes / 1024 / 1024).toFixed(1)} MiB in ${secs(fullUploadMs)}`);

  // Baseline: the same release sent again in full (no --link-dest), as a deploy that does not
  // reuse the live release would send it.
  t = performance.now();
  await $({ quiet: true })`rsync -a --stats -e ${['ssh', ...sshArgs(opened.target as Parameters<typeof sshArgs>[0])].join(' ')} ${`${first.dir}/`} ${`${sshd.destination}:${far}/baseline/`}`;
  const baselineMs = performance.now() - t;
  await fs.rm(path.join(far, 'baseline'), { recursive: true, force: true });

  server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], { DATABASE_URL: pg.url, ROSE_DIST_DIR: far, ROSE_DATA_DIR: path.join(scratch, 'server-data'), ROSE_SITE_URL: origin }, { timeoutMs: 300_000 });

  let commitNo = 0;
  let changes: string[] | 'all' = 'all';
  const git: GitRepo = { head: async () => `${String(commitNo).padStart(4, '0')}${'e'.repeat(36)}`, changedSince: async () => changes, uncommitted: async () => [] };
  let edited = bundle;
  const seed = async () => {
    const s = await seedContent(opened.database.db, edited);
    return `${s.posts.updated} post(s) updated`;
  };
  t = performance.now();
  commitNo = 1;
  const recorded = await runDeploy({ ...opened.deps, git, seed });
  if (recorded.result !== 'succeeded') throw new Error(`the first deploy did not succeed: ${recorded.result}`);
  log(`  first rose deploy (nothing recorded yet: every part rendered again): ${secs(performance.now() - t)}`);

  const times: number[] = [];
  const stepTimes = new Map<string, number[]>();
  const middle = Math.floor(posts / 2);
  for (let run = 1; run <= runs; run++) {
    edited = { ...bundle, posts: bundle.posts.map((p, i) => (i === middle ? { ...p, title: `${p.title} (edit ${run})` } : p)) };
    changes = [`content/posts/post-${middle}.md`];
    commitNo = run + 1;
    t = performance.now();
    const outcome = await runDeploy({ ...opened.deps, git, seed });
    const ms = performance.now() - t;
    if (outcome.result !== 'succeeded') throw new Error(`deploy ${run} did not succeed: ${outcome.result}`);
    times.push(ms);
    const upload = outcome.steps.find((s) => s.step === 'upload')?.detail ?? '';
    const built = outcome.steps.find((s) => s.step.startsWith('build'))?.detail ?? '';
    log(`  one-post deploy ${run}: ${secs(ms)} — ${outcome.steps.map((s) => `${s.step.replace(/ to \S+$/, '')} ${secs(s.ms)}`).join(', ')}; ${built.replace(/ → .*/, '')}; ${upload.replace(/, the rest.*/, '')}`);
    for (const s of outcome.steps) stepTimes.set(s.step.replace(/ to \S+$/, ''), [...(stepTimes.get(s.step.replace(/ to \S+$/, '')) ?? []), s.ms]);
    const page = await (await fetch(`${origin}/blog/post-${middle}/`)).text();
    if (!page.includes(`(edit ${run})`)) throw new Error(`deploy ${run}: the served page does not show the edit`);
  }
  const m = median(times);
  log(`  one-post deploy at ${posts} posts, ssh on loopback: median ${secs(m)} over ${runs} run(s); per step (median): ${[...stepTimes].map(([k, v]) => `${k} ${secs(median(v))}`).join(', ')}`);
  const upload = median(stepTimes.get('upload') ?? [0]);
  log(`  baseline, the whole release sent again over the same ssh (no --link-dest): ${secs(baselineMs)}; the one-post upload: ${secs(upload)} → upload/baseline ratio ${(upload / baselineMs).toFixed(2)}; whole deploy/baseline ratio ${(m / baselineMs).toFixed(2)}`);
  await opened.close();
} finally {
  await cleanup();
}
