/**
 * Full build against Hugo: `npm run bench -- --only build --posts 10000`.
 *
 * The same N generated posts (~520 words, two tags, one author each) go into a fresh
 * embedded database (for `rose build`) and into markdown files for a Hugo site with the same
 * pages: posts with previous/next, reading time, tags and authors; the blog index, tag and
 * author pages paginated 10 to a page with summaries; RSS and a sitemap. Then, interleaved
 * `--runs` times (default 3, medians reported):
 * - `hugo` into a fresh folder (the baseline, measured in the same run),
 * - `rose build --fresh`: an Astro build (what the first build, or a code change, costs),
 * - `rose build`: the same data rendered again by the live release's kept renderer (what a
 *   content rebuild costs).
 * Prints seconds, peak RSS (of each command's whole process tree, sampled every 50 ms) and the
 * ratios to Hugo. Target: ≤ 1.5× Hugo, peak RSS ≤ 1 GiB. Needs `hugo` (Debian: `apt-get
 * install -y hugo`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedContent } from '@rose/blog';
import { createMigrations, openPglite } from '@rose/db';
import { generatedBundle } from './generated-posts.ts';
import { sampleTreeRss } from './process-tree-rss.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { posts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } }, strict: false });
const posts = Number(values.posts);
const runs = Number(values.runs);
if (!Number.isInteger(posts) || posts < 10 || posts > 200_000) throw new Error('--posts must be a whole number from 10 to 200000');
if (!Number.isInteger(runs) || runs < 1 || runs > 10) throw new Error('--runs must be a whole number from 1 to 10');
const hugoVersion = spawnSync('hugo', ['version'], { encoding: 'utf8' });
if (hugoVersion.status !== 0) {
  console.error('This benchmark compares against Hugo, which is not installed: apt-get install -y hugo');
  process.exit(2);
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const scratch = path.join(root, '.rose', 'bench', `build-${Date.now()}`);
await fs.mkdir(scratch, { recursive: true });
log(`Rose Ash full build vs Hugo — ${posts} posts (${hugoVersion.stdout.trim().split(' ').slice(0, 2).join(' ')}; scratch: ${path.relative(root, scratch)})`);

// 1. The same posts, twice: a database for rose, markdown for Hugo.
const bundle = generatedBundle(posts);
const dataDir = path.join(scratch, 'data');
let t = performance.now();
const handle = await openPglite({ dir: path.join(dataDir, 'pglite') });
await createMigrations(handle.db, path.join(root, 'migrations')).migrateToLatest();
await seedContent(handle.db, bundle);
await handle.close();
log(`  seeded the database in ${((performance.now() - t) / 1000).toFixed(1)} s`);
const hugoDir = path.join(scratch, 'hugo');
await writeHugoSite(hugoDir);
log(`  wrote the Hugo site (${posts} markdown files)`);

// 2. Interleaved runs.
interface Timed {
  seconds: number;
  rssMiB: number;
}
const env = { PATH: process.env.PATH, HOME: process.env.HOME, ROSE_DATA_DIR: dataDir, ROSE_DIST_DIR: path.join(scratch, 'dist'), ROSE_LOG_LEVEL: 'warn', ASTRO_TELEMETRY_DISABLED: '1' };
const results: Record<'hugo' | 'astro' | 'warm', Timed[]> = { hugo: [], astro: [], warm: [] };
for (let run = 1; run <= runs; run++) {
  await fs.rm(path.join(hugoDir, 'public'), { recursive: true, force: true });
  await settle();
  results.hugo.push(await timed('hugo', ['--quiet', '--source', hugoDir, '--destination', path.join(hugoDir, 'public')], {}));
  await settle();
  results.astro.push(await timed(process.execPath, [path.join(root, 'cli', 'bin', 'rose.js'), 'build', '--fresh'], env));
  await settle();
  results.warm.push(await timed(process.execPath, [path.join(root, 'cli', 'bin', 'rose.js'), 'build'], env));
  log(`  run ${run}: hugo ${results.hugo.at(-1)!.seconds.toFixed(1)} s, rose build --fresh (Astro) ${results.astro.at(-1)!.seconds.toFixed(1)} s, rose build (warm) ${results.warm.at(-1)!.seconds.toFixed(1)} s`);
}
const median = (xs: Timed[]) => {
  const s = [...xs].sort((a, b) => a.seconds - b.seconds);
  return s[Math.floor(s.length / 2)]!;
};
const hugo = median(results.hugo);
const pages = await countHtml(path.join(hugoDir, 'public'));
const rosePages = await countHtml(path.join(scratch, 'dist', 'current', 'client'));
log('');
log(`  hugo:                      ${hugo.seconds.toFixed(2)} s (${pages} HTML files), peak RSS ${hugo.rssMiB.toFixed(0)} MiB`);
for (const [name, label] of [['astro', 'rose build --fresh (Astro)'], ['warm', 'rose build (warm renderer)']] as const) {
  const m = median(results[name]);
  const ratio = m.seconds / hugo.seconds;
  log(`  ${label.padEnd(26)} ${m.seconds.toFixed(2)} s (${rosePages} HTML files), peak RSS ${m.rssMiB.toFixed(0)} MiB — ${ratio.toFixed(2)}× Hugo ${ratio <= 1.5 ? '(≤ 1.5, met)' : '(target ≤ 1.5, NOT met)'}${m.rssMiB > 1024 ? ', RSS over 1 GiB' : ''}`);
}
if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });

function timed(cmd: string, args: string[], extraEnv: Record<string, string | undefined>): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    // Peak RSS of the command's whole process tree, sampled the same way for Hugo and rose.
    const rss = sampleTreeRss(child.pid!);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const rssMiB = rss.stop();
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${err}`));
      resolve({ seconds: (performance.now() - started) / 1000, rssMiB });
    });
  });
}

/**
 * Lets the last run's background work finish before the next is timed: old releases that
 * `rose build` pruned are deleted by a detached `rm` (as Hugo's old output is deleted before
 * its run, outside the timing), then dirty pages are flushed so one build's writeback does
 * not slow the next one down.
 */
async function settle(): Promise<void> {
  const releases = path.join(scratch, 'dist', 'releases');
  for (let i = 0; i < 1200; i++) {
    const names = await fs.readdir(releases).catch(() => [] as string[]);
    if (!names.some((n) => n.startsWith('.pruned-'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise<void>((resolve) => spawn('sync', { stdio: 'ignore' }).on('close', () => resolve()).on('error', () => resolve()));
}

async function countHtml(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { recursive: true })) if (String(e).endsWith('.html')) n++;
  return n;
}

/** The generated posts as a Hugo site whose pages match the blog's. */
async function writeHugoSite(dir: string): Promise<void> {
  const postsDir = path.join(dir, 'content', 'blog');
  await fs.mkdir(postsDir, { recursive: true });
  const toMarkdown = (html: string) =>
    html
      .replace(/<h2>(.*?)<\/h2>/g, '\n\n## $1\n\n')
      .replace(/<ul>|<\/ul>/g, '\n')
      .replace(/<li>(.*?)<\/li>/g, '- $1\n')
      .replace(/<p>(.*?)<\/p>/g, '\n\n$1\n\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
  const authorName = new Map(bundle.authors.map((a) => [a.slug, a.name]));
  await Promise.all(
    bundle.posts.map((p) =>
      fs.writeFile(
        path.join(postsDir, `${p.slug}.md`),
        `---\ntitle: ${JSON.stringify(p.title)}\ndate: ${p.publishedAt!.toISOString()}\nsummary: ${JSON.stringify(p.excerpt)}\ntags: ${JSON.stringify(p.tags)}\nauthors: ${JSON.stringify(p.authors.map((a) => authorName.get(a) ?? a))}\n---\n\n${toMarkdown(p.html)}\n`,
      ),
    ),
  );
  await fs.writeFile(
    path.join(dir, 'hugo.toml'),
    `baseURL = "http://localhost:4321/"\ntitle = "Bench Co-op"\nlanguageCode = "en-gb"\npaginate = 10\ndisableKinds = []\n[taxonomies]\n  tag = "tags"\n  author = "authors"\n[outputs]\n  home = ["HTML", "RSS"]\n  section = ["HTML", "RSS"]\n  taxonomy = ["HTML"]\n  term = ["HTML", "RSS"]\n`,
  );
  const layouts = path.join(dir, 'layouts', '_default');
  await fs.mkdir(layouts, { recursive: true });
  const files: Record<string, string> = {
    'baseof.html': `<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ .Title }} · {{ .Site.Title }}</title><link rel="canonical" href="{{ .Permalink }}"><link rel="alternate" type="application/rss+xml" href="/blog/index.xml"></head><body><header><a href="/blog/">{{ .Site.Title }}</a> <a href="/blog/search/">Search</a></header><main>{{ block "main" . }}{{ end }}</main><footer>{{ .Site.Title }}</footer></body></html>`,
    'single.html': `{{ define "main" }}<article><h1>{{ .Title }}</h1><p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time> · by {{ range $i, $a := .Params.authors }}{{ if $i }}, {{ end }}<a rel="author" href="{{ "authors/" | relURL }}{{ $a | urlize }}/">{{ $a }}</a>{{ end }} · {{ .ReadingTime }} min read</p><p class="tags">{{ range .Params.tags }}<a rel="tag" href="{{ "tags/" | relURL }}{{ . | urlize }}/">#{{ . }}</a> {{ end }}</p><div class="post-body">{{ .Content }}</div></article><nav>{{ with .PrevInSection }}<a rel="prev" href="{{ .RelPermalink }}">← {{ .Title }}</a>{{ end }}{{ with .NextInSection }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }} →</a>{{ end }}</nav>{{ end }}`,
    'list.html': `{{ define "main" }}<h1>{{ .Title }}</h1>{{ range .Paginator.Pages }}<article class="card"><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p class="meta">{{ .Date.Format "2 January 2006" }} · {{ .ReadingTime }} min read</p><p>{{ .Summary }}</p></article>{{ end }}{{ template "_internal/pagination.html" . }}{{ end }}`,
    'terms.html': `{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}`,
  };
  for (const [name, body] of Object.entries(files)) await fs.writeFile(path.join(layouts, name), body);
  await fs.writeFile(path.join(dir, 'layouts', 'index.html'), `{{ define "main" }}{{ range (.Paginate (where .Site.RegularPages "Section" "blog")).Pages }}<article class="card"><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p>{{ .Summary }}</p></article>{{ end }}{{ template "_internal/pagination.html" . }}{{ end }}`);
}
