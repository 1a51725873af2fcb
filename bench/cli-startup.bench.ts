/**
 * CLI start-up: `npm run bench -- --only cli --posts 10000`.
 *
 * Seeds N generated posts into a fresh embedded database (as the other benchmarks do), then
 * times new `rose` processes, each `--runs` times (default 10, medians reported):
 * - `rose --help` (target ≤ 0.3 s) and `rose --version`;
 * - `rose db status` on that database when no other process has it open, so the command
 *   opens the PGlite data dir itself (target ≤ 1 s), with its peak RSS and CPU time;
 * - `rose db status` while another process holds the database (as `rose serve` does), so the
 *   command reaches it over the owner's socket.
 * Uses `hyperfine` for the wall times when it is installed (`apt-get install -y hyperfine`),
 * otherwise spawns the commands itself. Prints seconds and the ratio to each target.
 */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedContent } from '@rose/blog';
import { createMigrations, openPglite } from '@rose/db';
import { generatedBundle } from './generated-posts.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { posts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '10' }, keep: { type: 'boolean', default: false } }, strict: false });
const posts = Number(values.posts);
const runs = Number(values.runs);
if (!Number.isInteger(posts) || posts < 10 || posts > 200_000) throw new Error('--posts must be a whole number from 10 to 200000');
if (!Number.isInteger(runs) || runs < 3 || runs > 100) throw new Error('--runs must be a whole number from 3 to 100');
const log = (s: string) => process.stdout.write(`${s}\n`);
const scratch = path.join(root, '.rose', 'bench', `cli-${Date.now()}`);
const dataDir = path.join(scratch, 'data');
await fs.mkdir(scratch, { recursive: true });
const hyperfine = spawnSync('hyperfine', ['--version'], { encoding: 'utf8' }).status === 0;

log(`Rose Ash CLI start-up — ${posts} posts, ${runs} runs each, ${hyperfine ? 'timed by hyperfine' : 'timed by spawning (install hyperfine for σ)'} (scratch: ${path.relative(root, scratch)})`);
// Start-up is mostly CPU: on a busy machine wall times grow with the load, CPU times hardly.
const load = () => `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores`;
log(`  ${load()}`);
let t = performance.now();
const seeding = await openPglite({ dir: path.join(dataDir, 'pglite') });
await createMigrations(seeding.db, path.join(root, 'migrations')).migrateToLatest();
await seedContent(seeding.db, generatedBundle(posts));
await seeding.close();
log(`  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const env = { PATH: process.env.PATH, HOME: process.env.HOME, ROSE_DATA_DIR: dataDir, ROSE_DIST_DIR: path.join(scratch, 'dist'), ROSE_LOG_LEVEL: 'warn', ASTRO_TELEMETRY_DISABLED: '1' };
const rose = (args: string) => [process.execPath, path.join(root, 'cli', 'bin', 'rose.js'), ...args.split(' ')];
const rusageFile = path.join(scratch, 'rusage.json');

/** One run of `argv` with its wall time, peak RSS and CPU (report-rusage.mjs); fails on a non-zero exit. */
async function once(argv: string[]): Promise<{ seconds: number; rssMiB: number; cpuSeconds: number; stdout: string }> {
  const [cmd, ...args] = argv;
  const started = performance.now();
  const child = spawn(cmd!, ['--import', path.join(root, 'bench', 'report-rusage.mjs'), ...args], { cwd: root, env: { ...env, ROSE_BENCH_RUSAGE_FILE: rusageFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}:\n${stderr}`);
  const usage = JSON.parse(await fs.readFile(rusageFile, 'utf8')) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
  return { seconds, rssMiB: usage.maxRSS / 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median wall time of `runs` runs (after one warm-up): hyperfine's, or our own spawns'. */
async function wallTime(argv: string[]): Promise<{ median: number; spread: string }> {
  if (hyperfine) {
    const json = path.join(scratch, 'hyperfine.json');
    // Asynchronous, so this process can serve the database to the command when it holds it.
    const child = spawn('hyperfine', ['--shell=none', '--warmup', '1', '--runs', String(runs), '--export-json', json, '--style', 'none', argv.join(' ')], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`hyperfine failed:\n${stderr}`);
    const result = (JSON.parse(await fs.readFile(json, 'utf8')) as { results: { median: number; stddev: number; min: number; max: number }[] }).results[0]!;
    return { median: result.median, spread: `σ ${result.stddev.toFixed(3)}, min ${result.min.toFixed(3)}, max ${result.max.toFixed(3)}` };
  }
  await once(argv);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await once(argv)).seconds);
  return { median: median(times), spread: `min ${Math.min(...times).toFixed(3)}, max ${Math.max(...times).toFixed(3)}` };
}

/** Median peak RSS and CPU time over a few runs (hyperfine measures neither). */
async function usage(argv: string[]): Promise<{ rssMiB: number; cpuSeconds: number; stdout: string }> {
  const samples = [];
  for (let i = 0; i < 3; i++) samples.push(await once(argv));
  return { rssMiB: median(samples.map((s) => s.rssMiB)), cpuSeconds: median(samples.map((s) => s.cpuSeconds)), stdout: samples[0]!.stdout };
}

const report = (name: string, wall: { median: number; spread: string }, use: { rssMiB: number; cpuSeconds: number }, target?: number) =>
  log(
    `  ${name.padEnd(34)} ${wall.median.toFixed(3)} s (${wall.spread}); CPU ${use.cpuSeconds.toFixed(2)} s, peak RSS ${use.rssMiB.toFixed(0)} MiB` +
      (target ? `; target ≤ ${target} s: ratio ${(wall.median / target).toFixed(2)} ${wall.median <= target ? '(met)' : '(NOT met)'}` : ''),
  );

try {
  for (const [args, target] of [['--help', 0.3], ['--version', 0.3]] as const) report(`rose ${args}`, await wallTime(rose(args)), await usage(rose(args)), target);

  const status = await usage(rose('db status'));
  if (!status.stdout.includes('All migrations applied.')) throw new Error(`rose db status did not report the migrations:\n${status.stdout}`);
  report('rose db status (opens the database)', await wallTime(rose('db status')), status, 1);

  // This process holds the database now, as `rose serve` would; the command reaches it over the socket.
  const holder = await openPglite({ dir: path.join(dataDir, 'pglite') });
  try {
    report('rose db status (while it is held)', await wallTime(rose('db status')), await usage(rose('db status')), 1);
  } finally {
    await holder.close();
  }
  log(`  (node -e 0: ${(await once([process.execPath, '-e', '0'])).seconds.toFixed(3)} s — the floor for any command on this machine now; ${load()})`);
} finally {
  if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });
}
