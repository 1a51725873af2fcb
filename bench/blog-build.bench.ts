/**
 * Blog build benchmark: `npm run bench -- --posts 10000`.
 *
 * 1. Generates N posts into a fresh embedded database (through the real seed service).
 * 2. Times `rose build` (the real CLI, in a child process) and records its peak RSS.
 * 3. In the same run, times a bare Astro build that writes the same pages from an in-memory
 *    array of their pre-rendered HTML: the baseline, what Astro costs with no data layer,
 *    no layout and no adapter.
 * 4. Repeats both, interleaved, `--runs` times (default 3) and reports medians: on a small
 *    VM a single build varies by ±30% with the state of the page cache.
 * 5. Prints pages/s, peak RSS and the ratio (rose time / baseline time; target ≤ 1.3 at 10k,
 *    peak RSS ≤ 1 GiB).
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedContent } from '@rose/blog';
import { createMigrations, openPglite } from '@rose/db';
import { generatedBundle } from './generated-posts.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { posts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } },
  strict: false,
});
const runs = Number(values.runs ?? '3');
if (!Number.isInteger(runs) || runs < 1 || runs > 10) {
  console.error('--runs must be a whole number from 1 to 10');
  process.exit(2);
}
const posts = Number(values.posts ?? '10000');
if (!Number.isInteger(posts) || posts < 1 || posts > 200_000) {
  console.error('--posts must be a whole number from 1 to 200000');
  process.exit(2);
}

const scratch = path.join(root, '.rose', 'bench', `run-${Date.now()}`);
await fs.mkdir(scratch, { recursive: true });
const log = (s: string) => process.stdout.write(`${s}\n`);

interface Timed {
  seconds: number;
  maxRssMiB: number;
  pages: number;
}

function runTimed(args: string[], env: NodeJS.ProcessEnv, cwd: string, rusageFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', path.join(root, 'bench', 'report-rusage.mjs'), ...args], {
      cwd,
      env: { ...env, ROSE_BENCH_RUSAGE_FILE: rusageFile, ASTRO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

async function countHtml(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { recursive: true })) if (String(e).endsWith('.html')) n++;
  return n;
}

async function rss(file: string): Promise<number> {
  return JSON.parse(await fs.readFile(file, 'utf8')).maxRSS / 1024;
}

// 1. Data.
log(`Rose Ash blog build benchmark — ${posts} posts (scratch: ${path.relative(root, scratch)})`);
const dataDir = path.join(scratch, 'data');
let t0 = performance.now();
const handle = await openPglite({ dir: path.join(dataDir, 'pglite') });
await createMigrations(handle.db, path.join(root, 'migrations')).migrateToLatest();
const content = generatedBundle(posts);
await seedContent(handle.db, content);
await handle.close();
log(`  generated and seeded ${posts} posts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// 2. rose build.
const roseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ROSE_DATA_DIR: dataDir, ROSE_DIST_DIR: path.join(scratch, 'dist'), ROSE_LOG_LEVEL: 'warn' };
const roseRusage = path.join(scratch, 'rose-rusage.json');
async function timeRose(): Promise<Timed> {
  await fs.rm(path.join(scratch, 'dist'), { recursive: true, force: true });
  await settle();
  const seconds = await runTimed([path.join(root, 'cli', 'bin', 'rose.js'), 'build'], roseEnv, root, roseRusage);
  return { seconds, maxRssMiB: await rss(roseRusage), pages: await countHtml(path.join(scratch, 'dist', 'current', 'client')) };
}
/** Flushes dirty pages so one build's writeback does not slow the next one down. */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => spawn('sync', { stdio: 'ignore' }).on('close', () => resolve()).on('error', () => resolve()));
}
const roseRuns: Timed[] = [await timeRose()];

// 3. Baseline: a bare Astro project (no adapter, no data layer) that writes exactly the
//    pages rose wrote, from an in-memory array of their pre-rendered HTML.
const baseDir = path.join(scratch, 'baseline');
await fs.mkdir(path.join(baseDir, 'src', 'pages'), { recursive: true });
await fs.writeFile(
  path.join(baseDir, 'astro.config.mjs'),
  `import { defineConfig } from 'astro/config';\nexport default defineConfig({ output: 'static', build: { format: 'directory', concurrency: 4 }, devToolbar: { enabled: false } });\n`,
);
const clientDir = path.join(scratch, 'dist', 'current', 'client');
const prerendered: { path: string | undefined; html: string }[] = [];
for (const entry of await fs.readdir(clientDir, { recursive: true })) {
  const file = String(entry);
  if (!file.endsWith('/index.html') && file !== 'index.html') continue;
  const dir = path.dirname(file);
  prerendered.push({ path: dir === '.' ? undefined : dir, html: await fs.readFile(path.join(clientDir, file), 'utf8') });
}
await fs.writeFile(path.join(baseDir, 'pages.json'), JSON.stringify(prerendered));
await fs.writeFile(
  path.join(baseDir, 'src', 'pages', '[...path].astro'),
  `---\nimport { readFileSync } from 'node:fs';\nexport function getStaticPaths() {\n  const pages = JSON.parse(readFileSync(new URL('../../pages.json', 'file://' + process.cwd() + '/src/pages/'), 'utf8'));\n  return pages.map((p) => ({ params: { path: p.path }, props: { html: p.html } }));\n}\nconst { html } = Astro.props;\n---\n<Fragment set:html={html} />\n`,
);
prerendered.length = 0;
const baseRusage = path.join(scratch, 'baseline-rusage.json');
async function timeBaseline(): Promise<Timed> {
  await fs.rm(path.join(baseDir, 'dist'), { recursive: true, force: true });
  await settle();
  const seconds = await runTimed([path.join(root, 'node_modules', 'astro', 'bin', 'astro.mjs'), 'build', '--silent'], { PATH: process.env.PATH, HOME: process.env.HOME }, baseDir, baseRusage);
  return { seconds, maxRssMiB: await rss(baseRusage), pages: await countHtml(path.join(baseDir, 'dist')) };
}
const baseRuns: Timed[] = [await timeBaseline()];
for (let i = 1; i < runs; i++) {
  roseRuns.push(await timeRose());
  baseRuns.push(await timeBaseline());
}
const median = (list: Timed[]): Timed => {
  const sorted = [...list].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return { ...mid, maxRssMiB: Math.max(...list.map((r) => r.maxRssMiB)) };
};
const rose = median(roseRuns);
const baseline = median(baseRuns);
log(`  runs (s): rose ${roseRuns.map((r) => r.seconds.toFixed(2)).join(', ')}; baseline ${baseRuns.map((r) => r.seconds.toFixed(2)).join(', ')}`);

// 4. Report.
const row = (name: string, r: Timed) => // median time, highest peak RSS over the runs

  `  ${name.padEnd(22)} ${r.pages.toString().padStart(7)} pages ${r.seconds.toFixed(2).padStart(8)} s ${(r.pages / r.seconds).toFixed(0).padStart(7)} pages/s   peak RSS ${r.maxRssMiB.toFixed(0).padStart(5)} MiB`;
log('');
log(row('rose build (blog)', rose));
log(row('baseline (bare Astro)', baseline));
const ratio = rose.seconds / baseline.seconds;
const perPageRatio = rose.seconds / rose.pages / (baseline.seconds / baseline.pages);
log('');
log(`  ratio (rose time / baseline time): ${ratio.toFixed(2)}   target ≤ 1.30  ${ratio <= 1.3 ? 'OK' : 'OVER'}`);
log(`  ratio per page written:            ${perPageRatio.toFixed(2)}   (${rose.pages} vs ${baseline.pages} HTML pages)`);
log(`  peak RSS of rose build:            ${rose.maxRssMiB.toFixed(0)} MiB   target ≤ 1024 MiB  ${rose.maxRssMiB <= 1024 ? 'OK' : 'OVER'}`);


// 6. Webhook to live: one post edited in the database (what an applied webhook does), then
//    the targeted rebuild the worker runs, against the full rebuild measured above.
{
  const handle = await openPglite({ dir: path.join(dataDir, 'pglite') });
  const target = content.posts[Math.floor(posts / 2)]!;
  await handle.db.updateTable('blog_posts').set({ title: `${target.title} (edited)`, updated_at: new Date() }).where('slug', '=', target.slug).execute();
  await handle.close();
  const started = performance.now();
  await runTimed([path.join(root, 'cli', 'bin', 'rose.js'), 'build', '--targeted'], roseEnv, root, roseRusage);
  const targetedSeconds = (performance.now() - started) / 1000;
  const html = await fs.readFile(path.join(scratch, 'dist', 'current', 'client', 'blog', target.slug, 'index.html'), 'utf8');
  if (!html.includes(`${target.title} (edited)`)) throw new Error('the targeted rebuild did not publish the edit');
  const manifest = JSON.parse(await fs.readFile(path.join(scratch, 'dist', 'current', 'release.json'), 'utf8')) as { kind: string; rendered: number };
  log('');
  log(`  edit → live (targeted rebuild, ${manifest.kind}, ${manifest.rendered} pages re-rendered): ${targetedSeconds.toFixed(2)} s   target ≤ 1 s  ${targetedSeconds <= 1 ? 'OK' : 'OVER'}`);
  log(`  full rebuild (median above):                                        ${rose.seconds.toFixed(2)} s`);
}

if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });
