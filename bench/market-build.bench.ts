/**
 * Market build benchmark: `npm run bench -- --only market [--posts 10000 --products 2000
 * --producers 200 --runs 3 --budget 15 --keep]`.
 *
 * "Market pages should cost about what blog pages do." The same N generated posts as the
 * other build benchmarks (bench/generated-posts.ts) go into an embedded database; a copy of
 * it also gets a generated market (bench/generated-market.ts: products with 1–3 variants over
 * the producers, 12 categories, an open and an upcoming cycle, a handful of images) seeded
 * the way `rose db seed` seeds content/market/. Then, interleaved `--runs` times (default 3;
 * medians; fewer when the runs so far say the next one would end past `--budget` minutes):
 * - blog only: `rose build --fresh` (Astro) and `rose build` (the warm renderer),
 * - blog + market: the same two,
 * each with its CPU time and peak RSS. Then `rose build market` (the market part only, warm) `--runs`
 * times, and a targeted rebuild after a sale: `rose market products stock <SKU> 0` on a
 * product's only variant, then `rose build --targeted`.
 * Prints pages per part, seconds, CPU seconds and peak RSS of each build, the market's extra
 * cost in seconds (and CPU seconds, the steadier figure on a busy machine) per 1,000 market
 * pages against the blog's per 1,000 pages (the ratio: ~1 means market pages cost what blog
 * pages do), each build's own timing line, and the load average beside every figure.
 *
 * The code is copied first (the working tree's sites/, packages/, cli/, migrations/ and root
 * config, with node_modules linked) and the seed and every `rose` command run from the copy:
 * a warm build needs the live release's code hash to match, and an edit saved anywhere in
 * sites/ or packages/ during the run (an editor, a `git pull`, another person in the same
 * checkout) would otherwise turn the warm builds into Astro builds.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeGeneratedMarket } from './generated-market.ts';
import { generatedBundle } from './generated-posts.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    posts: { type: 'string', default: '10000' },
    products: { type: 'string', default: '2000' },
    producers: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    budget: { type: 'string', default: '15' },
    keep: { type: 'boolean', default: false },
  },
  strict: false,
});
const whole = (name: string, min: number, max: number) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return n;
};
const posts = whole('posts', 10, 200_000);
const producers = whole('producers', 1, 10_000);
const products = whole('products', producers, 100_000);
const runs = whole('runs', 1, 10);
const budgetMinutes = Number(values.budget);
if (!(budgetMinutes > 0)) {
  console.error('--budget must be a number of minutes above 0');
  process.exit(2);
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () => `load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`;
const benchStarted = performance.now();
const scratch = path.join(root, '.rose', 'bench', `market-${Date.now()}`);
await fs.mkdir(scratch, { recursive: true });
let t: number;
log(`Rose Ash market build benchmark — ${posts} posts + ${products} products over ${producers} producers, ${os.availableParallelism()} cores (scratch: ${path.relative(root, scratch)}; ${load()})`);

// 0. A copy of the code that nobody edits during the run.
const code = path.join(scratch, 'code');
t = performance.now();
await freezeCode(code);
log(`  copied the code to ${path.relative(root, code)} in ${secs(t)} s: the seed and every rose command run from it`);
const fromCode = <T>(pkg: string): Promise<T> => import(pathToFileURL(path.join(code, 'packages', pkg, 'src', 'index.ts')).href) as Promise<T>;
const { seedContent } = await fromCode<typeof import('@rose/blog')>('blog');
const { createMigrations, openPglite } = await fromCode<typeof import('@rose/db')>('db');
const { loadMarketContent, prepareMarketImages, seedMarket } = await fromCode<typeof import('@rose/market')>('market');

// 1. Data: the posts once, copied; the market seeded into the copy as `rose db seed` does.
const blogData = path.join(scratch, 'blog-data');
const marketData = path.join(scratch, 'market-data');
t = performance.now();
{
  const handle = await openPglite({ dir: path.join(blogData, 'pglite') });
  await createMigrations(handle.db, path.join(code, 'migrations')).migrateToLatest();
  await seedContent(handle.db, generatedBundle(posts));
  await handle.close();
}
log(`  seeded ${posts} posts in ${secs(t)} s (${load()})`);
await fs.cp(blogData, marketData, { recursive: true });
t = performance.now();
const contentDir = path.join(scratch, 'content');
const generated = await writeGeneratedMarket(contentDir, { producers, products, imagesFrom: path.join(root, 'content', 'market', 'images') });
const generateSeconds = secs(t);
t = performance.now();
{
  const bundle = (await loadMarketContent(contentDir))!;
  const loadSeconds = secs(t);
  const handle = await openPglite({ dir: path.join(marketData, 'pglite') });
  let m = performance.now();
  const images = await prepareMarketImages(handle.db, bundle);
  const imageSeconds = secs(m);
  m = performance.now();
  const summary = await seedMarket(handle.db, bundle, { images });
  const seedSeconds = secs(m);
  await handle.close();
  log(
    `  market: wrote ${generated.producers} producers, ${generated.products} products (${generated.variants} variants), ${generated.categories} categories, 2 cycles in ${generateSeconds} s; ` +
      `images are few on purpose (${generated.withImage.files} files used by ${generated.withImage.producers} producers and ${generated.withImage.products} products)`,
  );
  log(`  seeded the market in ${secs(t)} s: load and validate ${loadSeconds} s, images ${imageSeconds} s, database ${seedSeconds} s (+${summary.products.added} products, +${summary.variants.added} variants; ${load()})`);
}

// 2. Interleaved runs.
interface Timed {
  seconds: number;
  /** CPU time of the rose process (its threads included; not esbuild's own process). */
  cpu: number;
  rssMiB: number;
  load: number;
  stdout: string;
}
type Variant = 'blogFresh' | 'blogWarm' | 'bothFresh' | 'bothWarm';
const labels: Record<Variant, string> = {
  blogFresh: 'blog only, rose build --fresh',
  blogWarm: 'blog only, rose build (warm)',
  bothFresh: 'blog + market, --fresh',
  bothWarm: 'blog + market, warm',
};
const setups = {
  // Releases live inside the project they were built from (the built server loads its dependencies from its node_modules).
  blog: { data: blogData, dist: path.join(code, '.rose', 'blog-dist') },
  both: { data: marketData, dist: path.join(code, '.rose', 'market-dist') },
};
// The copy's first start compiles its TypeScript (Node's compile cache is by path): an
// untimed build of an empty database pays for that, not the first timed build.
{
  t = performance.now();
  const warmup = { data: path.join(scratch, 'warmup-data'), dist: path.join(code, '.rose', 'warmup-dist') };
  const handle = await openPglite({ dir: path.join(warmup.data, 'pglite') });
  await createMigrations(handle.db, path.join(code, 'migrations')).migrateToLatest();
  await handle.close();
  await rose(warmup, ['build', '--fresh']);
  await rose(warmup, ['build']);
  await fs.rm(warmup.dist, { recursive: true, force: true });
  log(`  warm-up (untimed builds of an empty database) in ${secs(t)} s`);
}
const results: Record<Variant, Timed[]> = { blogFresh: [], blogWarm: [], bothFresh: [], bothWarm: [] };
const runStarts: number[] = [];
let done = 0;
for (let run = 1; run <= runs; run++) {
  if (run > 1) {
    const perRun = (performance.now() - runStarts[0]!) / (run - 1) / 1000;
    const elapsed = (performance.now() - benchStarted) / 1000;
    // What is left after the runs: `rose build market` per run and the targeted rebuild (both warm).
    if (elapsed + perRun * 1.15 > budgetMinutes * 60) {
      log(`  stopping after ${run - 1} run(s): a run takes ~${perRun.toFixed(0)} s and another would end past --budget ${budgetMinutes} min`);
      break;
    }
  }
  runStarts.push(performance.now());
  results.blogFresh.push(await rose(setups.blog, ['build', '--fresh']));
  results.blogWarm.push(await warm(setups.blog, ['--verbose', 'build']));
  results.bothFresh.push(await rose(setups.both, ['build', '--fresh']));
  results.bothWarm.push(await warm(setups.both, ['--verbose', 'build']));
  done = run;
  log(`  run ${run}: ${(['blogFresh', 'blogWarm', 'bothFresh', 'bothWarm'] as const).map((v) => `${labels[v]} ${results[v].at(-1)!.seconds.toFixed(1)} s, CPU ${results[v].at(-1)!.cpu.toFixed(1)} s (load ${results[v].at(-1)!.load.toFixed(1)})`).join('; ')}`);
  for (const v of ['blogWarm', 'bothWarm'] as const) log(`    ${labels[v]} phases:${phases(results[v].at(-1)!.stdout)}`);
}
const marketOnly: Timed[] = [];
for (let i = 0; i < done; i++) marketOnly.push(await warm(setups.both, ['--verbose', 'build', 'market']));
log(`  rose build market (warm), ${done} run(s): ${marketOnly.map((r) => `${r.seconds.toFixed(1)} s, CPU ${r.cpu.toFixed(1)} s (load ${r.load.toFixed(1)})`).join('; ')}`);
log(`    phases:${phases(marketOnly.at(-1)!.stdout)}`);

// 3. Report.
const median = (xs: Timed[]): Timed => {
  const sorted = [...xs].sort((a, b) => a.seconds - b.seconds);
  // Median time; the highest peak RSS of the runs.
  return { ...sorted[Math.floor(sorted.length / 2)]!, rssMiB: Math.max(...xs.map((x) => x.rssMiB)) };
};
const pagesBlogOnly = await countByPart(path.join(setups.blog.dist, 'current', 'client'));
const pagesBoth = await countByPart(path.join(setups.both.dist, 'current', 'client'));
const m = Object.fromEntries((Object.keys(results) as Variant[]).map((v) => [v, median(results[v])])) as Record<Variant, Timed>;
const mo = median(marketOnly);
const row = (label: string, r: Timed, pages: number) =>
  `  ${label.padEnd(32)} ${String(pages).padStart(6)} pages ${r.seconds.toFixed(2).padStart(8)} s ${(pages / r.seconds).toFixed(0).padStart(6)} pages/s   CPU ${r.cpu.toFixed(1).padStart(6)} s   peak RSS ${r.rssMiB.toFixed(0).padStart(5)} MiB   (load ${r.load.toFixed(1)})`;
log('');
log(`  HTML pages: blog-only release ${pagesBlogOnly.total} (blog ${pagesBlogOnly.blog}, market ${pagesBlogOnly.market}, other ${pagesBlogOnly.other}); blog + market release ${pagesBoth.total} (blog ${pagesBoth.blog}, market ${pagesBoth.market}, other ${pagesBoth.other})`);
log(`  medians of ${done} run(s) (highest peak RSS of the runs; load average at the end of the median run):`);
log(row(labels.blogFresh, m.blogFresh, pagesBlogOnly.total));
log(row(labels.bothFresh, m.bothFresh, pagesBoth.total));
log(row(labels.blogWarm, m.blogWarm, pagesBlogOnly.total));
log(row(labels.bothWarm, m.bothWarm, pagesBoth.total));
log(row('rose build market (warm)', mo, pagesBoth.market));
log('');
const marketPages = pagesBoth.total - pagesBlogOnly.total;
log(`  the market's extra cost (${marketPages} more pages than the blog-only release), per 1,000 pages; CPU seconds are the steadier figure on a busy machine:`);
const signed = (x: number, digits = 2) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
const verdict = (ratio: number) => (ratio < 0 ? '(the build with the market was the faster one: noise)' : ratio <= 1.5 ? '(about the same or less)' : '(more than a blog page)');
for (const [kind, blog, both, blogRuns, bothRuns] of [
  ['Astro (--fresh)', m.blogFresh, m.bothFresh, results.blogFresh, results.bothFresh],
  ['warm', m.blogWarm, m.bothWarm, results.blogWarm, results.bothWarm],
] as const) {
  for (const [what, of] of [
    ['wall', (r: Timed) => r.seconds],
    ['CPU', (r: Timed) => r.cpu],
  ] as const) {
    const blogPer = (of(blog) / pagesBlogOnly.total) * 1000;
    const marketPer = ((of(both) - of(blog)) / marketPages) * 1000;
    const ratio = marketPer / blogPer;
    log(
      `    ${`${kind}, ${what}`.padEnd(22)} blog ${blogPer.toFixed(2)} s / 1,000 pages; market ${signed(of(both) - of(blog))} s = ${marketPer.toFixed(2)} s / 1,000 pages → ${ratio.toFixed(2)}× a blog page ${verdict(ratio)}`,
    );
    if (blogRuns.length > 1) {
      // The same ratio within each run (its two builds ran minutes apart, under much the same
      // load), then the median of those: steadier than the ratio of medians when the load moves.
      const paired = blogRuns.map((b, i) => ((of(bothRuns[i]!) - of(b)) / marketPages / (of(b) / pagesBlogOnly.total)));
      const mid = [...paired].sort((x, y) => x - y)[Math.floor(paired.length / 2)]!;
      log(`    ${''.padEnd(22)} within each run: ${paired.map((r) => `${r.toFixed(2)}×`).join(', ')} → median ${mid.toFixed(2)}× ${verdict(mid)}`);
    }
  }
  log(`    ${`${kind}, peak RSS`.padEnd(22)} ${signed(both.rssMiB - blog.rssMiB, 0)} MiB with the market`);
}
{
  // The figures above charge the blog with each build's fixed costs (start-up, reading the
  // database, loading the renderer); the warm builds' render phase leaves those out.
  const blogRender = phaseSeconds(m.blogWarm.stdout, 'render');
  const bothRender = phaseSeconds(m.bothWarm.stdout, 'render');
  if (blogRender !== undefined && bothRender !== undefined) {
    const blogPer = (blogRender / pagesBlogOnly.total) * 1000;
    const marketPer = ((bothRender - blogRender) / marketPages) * 1000;
    log(
      `    ${'warm, render phase'.padEnd(22)} blog ${blogPer.toFixed(2)} s / 1,000 pages (${blogRender.toFixed(2)} s); market ${signed(bothRender - blogRender)} s = ${marketPer.toFixed(2)} s / 1,000 pages → ${(marketPer / blogPer).toFixed(2)}× a blog page ${verdict(marketPer / blogPer)} (fixed costs left out)`,
    );
  }
}
{
  // No subtraction of two noisy builds: the market-only build's render phase per page against
  // the blog-only build's.
  const blogRender = phaseSeconds(m.blogWarm.stdout, 'render');
  const marketRender = phaseSeconds(mo.stdout, 'render');
  if (blogRender !== undefined && marketRender !== undefined) {
    const blogPer = (blogRender / pagesBlogOnly.total) * 1000;
    const marketPer = (marketRender / pagesBoth.market) * 1000;
    log(`    ${'market alone, render'.padEnd(22)} rose build market renders ${pagesBoth.market} pages in ${marketRender.toFixed(2)} s = ${marketPer.toFixed(2)} s / 1,000 pages → ${(marketPer / blogPer).toFixed(2)}× the blog-only build's ${blogPer.toFixed(2)} s / 1,000 pages`);
  }
}
log(`    rose build market alone (warm): ${((mo.seconds / pagesBoth.market) * 1000).toFixed(2)} s, CPU ${((mo.cpu / pagesBoth.market) * 1000).toFixed(2)} s / 1,000 market pages (start-up and reading the whole database included: ${mo.seconds.toFixed(2)} s for ${pagesBoth.market} pages)`);

// 4. After a sale: one product's only variant sells out, then the targeted rebuild. Should it
//    run Astro (see warm()), the stock goes back, a build catches up and the sale is tried again.
{
  const s = generated.sellOutSku;
  const productPage = path.join(setups.both.dist, 'current', 'client', 'market', 'products', s.product, 'index.html');
  for (let attempt = 1; ; attempt++) {
    const before = await fs.readFile(productPage, 'utf8');
    const stock = await rose(setups.both, ['market', 'products', 'stock', s.sku, '0']);
    const targeted = await rose(setups.both, ['--verbose', 'build', '--targeted']);
    const after = await fs.readFile(productPage, 'utf8');
    log('');
    log(`  after a sale: rose market products stock ${s.sku} 0 (product ${s.product}, its only variant, stock ${s.stock} → 0): ${stock.seconds.toFixed(2)} s, CPU ${stock.cpu.toFixed(1)} s (load ${stock.load.toFixed(1)})`);
    log(`  rose build --targeted: ${targeted.seconds.toFixed(2)} s, CPU ${targeted.cpu.toFixed(1)} s, ${rendered(targeted.stdout)}, peak RSS ${targeted.rssMiB.toFixed(0)} MiB (load ${targeted.load.toFixed(1)})`);
    log(`    ${/Re-rendering[^\n]*/.exec(targeted.stdout)?.[0] ?? '(no "Re-rendering" line)'}`);
    log(`    phases:${phases(targeted.stdout)}`);
    if (before === after) log('    the product page did NOT change: the sale was not published');
    if (!ranAstro(targeted.stdout) || attempt === 3) break;
    log('    (that rebuild ran Astro: the code hash differs from the live release\'s; stock back, catch up, again)');
    await rose(setups.both, ['market', 'products', 'stock', s.sku, String(s.stock)]);
    await warm(setups.both, ['build']);
  }
}
if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });
log('');
log(`  total ${((performance.now() - benchStarted) / 60_000).toFixed(1)} min, removing the scratch folder included (${load()})`);

/**
 * Copies what a build reads (sites/, packages/, cli/, migrations/, scripts/, the root config
 * and lockfile) to `dest`, with a node_modules of links to the checkout's packages except
 * @rose/*, which link to the copied packages.
 */
async function freezeCode(dest: string): Promise<void> {
  for (const name of ['astro.config.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'sites', 'packages', 'cli', 'migrations', 'scripts']) {
    await fs.cp(path.join(root, name), path.join(dest, name), { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
  }
  const modules = path.join(dest, 'node_modules');
  await fs.mkdir(path.join(modules, '@rose'), { recursive: true });
  for (const name of await fs.readdir(path.join(root, 'node_modules'))) if (name !== '@rose') await fs.symlink(path.join(root, 'node_modules', name), path.join(modules, name));
  for (const name of await fs.readdir(path.join(root, 'node_modules', '@rose'))) await fs.symlink(path.join('..', '..', 'packages', name), path.join(modules, '@rose', name));
}

function secs(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}

/** One `rose` command in a child process with its own data and dist folders: seconds, peak RSS (report-rusage.mjs), stdout. */
async function rose(setup: { data: string; dist: string }, args: string[]): Promise<Timed> {
  await settle();
  const rusageFile = path.join(scratch, 'rusage.json');
  await fs.rm(rusageFile, { force: true });
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ROSE_DATA_DIR: setup.data, ROSE_DIST_DIR: setup.dist, ROSE_LOG_LEVEL: 'warn', ASTRO_TELEMETRY_DISABLED: '1', ROSE_BENCH_RUSAGE_FILE: rusageFile };
  const started = performance.now();
  const { exit, stdout, stderr } = await new Promise<{ exit: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', path.join(root, 'bench', 'report-rusage.mjs'), path.join(code, 'cli', 'bin', 'rose.js'), ...args], { cwd: code, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ exit: c, stdout: out, stderr: err }));
  });
  const seconds = (performance.now() - started) / 1000;
  if (exit !== 0) throw new Error(`rose ${args.join(' ')} exited with ${exit}:\n${stdout}\n${stderr}`);
  const usage = JSON.parse(await fs.readFile(rusageFile, 'utf8')) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
  return { seconds, cpu: (usage.userCPUTime + usage.systemCPUTime) / 1e6, rssMiB: usage.maxRSS / 1024, load: os.loadavg()[0]!, stdout };
}

/** Whether a build ran Astro (`Built … with Astro`) instead of the warm renderer (`Rendered …`). */
function ranAstro(stdout: string): boolean {
  return /^Built \d+ files .* with Astro/m.test(stdout);
}

function rendered(stdout: string): string {
  const warmLine = /Rendered (\d+) files of [^(]*\((\d+) changed, (\d+) removed/.exec(stdout);
  if (warmLine) return `${warmLine[1]} files rendered, ${warmLine[2]} changed, ${warmLine[3]} removed`;
  const astroLine = /Built (\d+) files \((\d+) pages\) with Astro/.exec(stdout);
  return astroLine ? `a full Astro build: ${astroLine[1]} files (${astroLine[2]} pages)` : 'no build line';
}

/**
 * A build meant to use the live release's kept renderer. Should the code hash differ from the
 * live release's all the same (the copy makes that unlikely), `rose build` runs Astro
 * instead: that run is reported and discarded, and the build runs again (its release now has
 * the new hash), up to three times.
 */
async function warm(setup: { data: string; dist: string }, args: string[]): Promise<Timed> {
  for (let attempt = 1; ; attempt++) {
    const r = await rose(setup, args);
    if (!ranAstro(r.stdout)) return r;
    log(`    (rose ${args.join(' ')} ran Astro, not the warm renderer: the code hash differs from the live release's; ${r.seconds.toFixed(1)} s discarded${attempt < 3 ? ', again' : ', kept'})`);
    if (attempt === 3) return r;
  }
}

/** One phase of the build's timing line, in seconds (`render` of "…, render 12.34 s, …"). */
function phaseSeconds(stdout: string, phase: string): number | undefined {
  const found = new RegExp(`(?:^|, )${phase} ([\\d.]+) s`).exec(phases(stdout).trim());
  return found ? Number(found[1]) : undefined;
}

/** The build's own timing line (printed with --verbose), e.g. " read the database 1.20 s, keys 0.10 s, …". */
function phases(stdout: string): string {
  const line = stdout.split('\n').find((l) => /read the database [\d.]+ s/.test(l));
  return line ? ` ${line.trim()}` : ' (no timing line)';
}

/** Flushes dirty pages so one build's writeback does not slow the next one down. */
function settle(): Promise<void> {
  return new Promise((resolve) => spawn('sync', { stdio: 'ignore' }).on('close', () => resolve()).on('error', () => resolve()));
}

async function countByPart(dir: string): Promise<{ total: number; blog: number; market: number; other: number }> {
  const n = { total: 0, blog: 0, market: 0, other: 0 };
  for (const e of await fs.readdir(dir, { recursive: true })) {
    const file = String(e);
    if (!file.endsWith('.html')) continue;
    n.total++;
    if (file.startsWith(`blog${path.sep}`)) n.blog++;
    else if (file.startsWith(`market${path.sep}`)) n.market++;
    else n.other++;
  }
  return n;
}
