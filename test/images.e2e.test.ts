import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountLinks, blogLinks, marketLinks, siteLinks } from '@rose/core';
import { normalisePerRender } from '@rose/site-build';
import { createEmptyPostgresDatabase, freePort, httpRequest, makeProjectTempDir, repoRoot, runRose, startRose, type RunResult } from '@rose/testing';

// Images end to end, in both kinds of build: `rose build --fresh` (Astro) and a second
// `rose build` (the live release's warm renderer, which never runs Astro's image step). The
// variants are made when content is seeded and published from the database by both, byte for
// byte. Also: the front page, the build's progress counts, and how `rose serve` answers.
describe('images, the front page and build output, with Astro and with the warm renderer', () => {
  let tmp: string;
  let content: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  const runs: Record<string, RunResult> = {};

  const rose = async (...args: string[]) => {
    const r = await runRose(args, env, { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const live = async () => fs.realpath(path.join(tmp, 'dist', 'current'));
  const read = async (dir: string, file: string) => fs.readFile(path.join(dir, 'client', file), 'utf8');
  const files = async (dir: string) =>
    (await fs.readdir(path.join(dir, 'client'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && !/\.(br|gz)$/.test(e.name))
      .map((e) => path.relative(path.join(dir, 'client'), path.join(e.parentPath, e.name)))
      .sort();
  const imagesIn = async (dir: string) => (await fs.readdir(path.join(dir, 'client', 'blog', 'images'))).sort();
  const setFrontMatter = async (slug: string, key: string, value: string | null) => {
    const file = path.join(content, 'posts', `${slug}.md`);
    const text = await fs.readFile(file, 'utf8');
    const end = text.indexOf('\n---\n', 4);
    const lines = text.slice(4, end).split('\n').filter((l) => !l.startsWith(`${key}:`));
    if (value !== null) lines.push(`${key}: ${value}`);
    await fs.writeFile(file, `---\n${lines.join('\n')}${text.slice(end)}`);
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('images');
    content = path.join(tmp, 'content');
    await fs.cp(path.join(repoRoot, 'content'), content, { recursive: true });
    const database = await createEmptyPostgresDatabase();
    drop = database.drop;
    env = { DATABASE_URL: database.url, ROSE_DATA_DIR: path.join(tmp, '.rose'), ROSE_DIST_DIR: path.join(tmp, 'dist'), ROSE_CONTENT_DIR: content };
    await rose('db', 'migrate');
    runs.seed = await rose('db', 'seed');
    runs.fresh = await rose('build', '--fresh');
  });

  afterAll(async () => {
    await drop?.();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('seeding makes each image once; seeding again changes nothing', async () => {
    expect(runs.seed!.stdout).toMatch(/images\s+\+6 added/);
    const again = await rose('db', 'seed');
    expect(again.stdout).toContain('Nothing to do');
  });

  it('an Astro build publishes every variant under /blog/images/, named by its content', async () => {
    expect(runs.fresh!.stdout).toContain('with Astro');
    const dir = await live();
    const names = await imagesIn(dir);
    // Six images, each as AVIF, WebP and JPEG at 480, 960 and 1440 pixels.
    expect(names).toHaveLength(54);
    for (const stem of ['cold-room', 'orchard', 'repair-cafe', 'sourdough', 'spring-market', 'wild-garlic']) {
      for (const w of [480, 960, 1440]) for (const ext of ['avif', 'webp', 'jpg']) expect(names.some((n) => new RegExp(`^${stem}-${w}\\.[0-9a-f]{16}\\.${ext}$`).test(n))).toBe(true);
    }
    for (const name of names) {
      const bytes = await fs.readFile(path.join(dir, 'client', 'blog', 'images', name));
      expect(createHash('sha256').update(bytes).digest('hex').slice(0, 16)).toBe(name.split('.')[1]);
    }
    const meta = await sharp(path.join(dir, 'client', 'blog', 'images', names.find((n) => n.startsWith('orchard-960') && n.endsWith('.avif'))!)).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'heif', width: 960, height: 600 });
  });

  it('pages show images responsively: AVIF and WebP sources, srcset, sizes, width and height, lazy below the fold', async () => {
    const dir = await live();
    const post = await read(dir, 'blog/wild-garlic-pesto/index.html');
    const picture = /<picture[^>]*>(.*?)<\/picture>/s.exec(post)![1]!;
    expect(picture).toMatch(/<source type="image\/avif" srcset="\/blog\/images\/wild-garlic-480\.\w+\.avif 480w, \/blog\/images\/wild-garlic-960\.\w+\.avif 960w, \/blog\/images\/wild-garlic-1440\.\w+\.avif 1440w" sizes="[^"]+"[^>]*>/);
    expect(picture).toMatch(/<source type="image\/webp" srcset="[^"]+\.webp 480w, [^"]+\.webp 960w, [^"]+\.webp 1440w"/);
    const img = /<img [^>]*>/.exec(picture)![0];
    expect(img).toMatch(/src="\/blog\/images\/wild-garlic-1440\.\w+\.jpg"/);
    expect(img).toMatch(/srcset="[^"]+\.jpg 480w, [^"]+\.jpg 960w, [^"]+\.jpg 1440w"/);
    expect(img).toContain('width="1440" height="900"');
    expect(img).toContain('alt="Wild garlic leaves and white star-shaped flowers on a woodland floor"');
    expect(img).toContain('decoding="async"');
    // The post's own picture is what the reader sees first: fetched at once, not lazily.
    expect(img).toContain('loading="eager"');
    expect(post).toMatch(/<meta property="og:image" content="http:\/\/localhost:4321\/blog\/images\/wild-garlic-1440\.\w+\.jpg">/);
    // Lists show thumbnails, loaded lazily.
    const list = await read(dir, 'blog/index.html');
    const thumbs = [...list.matchAll(/<img [^>]*>/g)].map((m) => m[0]);
    expect(thumbs.length).toBeGreaterThanOrEqual(4);
    for (const t of thumbs) expect(t).toMatch(/loading="lazy" decoding="async"/);
    for (const t of thumbs) expect(t).toMatch(/ width="\d+" height="\d+"/);
    // Every image a page refers to was published.
    const published = new Set(await imagesIn(dir));
    for (const file of ['index.html', 'blog/index.html', 'blog/wild-garlic-pesto/index.html', 'blog/tag/recipes/index.html']) {
      for (const m of (await read(dir, file)).matchAll(/\/blog\/images\/([\w.-]+)/g)) expect(published.has(m[1]!), `${file} → ${m[1]}`).toBe(true);
    }
  });

  it('the front page links every part the site has, through the links helper, and the header links it', async () => {
    const dir = await live();
    const home = await read(dir, 'index.html');
    const hrefs = new Set([...home.matchAll(/<a [^>]*href="([^"]+)"/g)].map((m) => m[1]));
    for (const href of [blogLinks.home(), blogLinks.search(), blogLinks.rss(), marketLinks.home(), marketLinks.producers(), marketLinks.search(), accountLinks.signIn(), accountLinks.signUp(), accountLinks.home()]) expect(hrefs.has(href), href).toBe(true);
    // Parts that do not exist yet are not linked.
    expect([...hrefs].filter((h) => /^\/(events|cart|social)\b/.test(h ?? ''))).toEqual([]);
    expect(home).toMatch(/<h1[^>]*>Rose Ash Co-operative<\/h1>/);
    expect((home.match(/<picture[ >]/g) ?? []).length).toBeGreaterThanOrEqual(2);
    // Every page's header brand leads back to the front page.
    for (const file of ['blog/index.html', 'blog/wild-garlic-pesto/index.html', '404.html']) expect(await read(dir, file)).toContain(`<a class="brand" href="${siteLinks.home()}"`);
    expect(await fs.stat(path.join(dir, 'client', 'favicon.ico'))).toBeTruthy();
    expect(await read(dir, 'blog/page/1/index.html')).toMatch(/^<!doctype html><title>Redirecting to: \/blog\/<\/title><meta http-equiv="refresh" content="0;url=\/blog\/">/);
  });

  it('a second build uses the warm renderer (no Astro) and publishes the same files', async () => {
    const astroDir = await live();
    runs.warm = await rose('build');
    expect(runs.warm.stdout).toMatch(/^Rendering blog \(/m);
    expect(runs.warm.stdout).not.toContain('with Astro');
    const warmDir = await live();
    expect(warmDir).not.toBe(astroDir);
    expect(await files(warmDir)).toEqual(await files(astroDir));
    for (const name of await imagesIn(astroDir)) {
      const [a, b] = await Promise.all([fs.readFile(path.join(astroDir, 'client', 'blog', 'images', name)), fs.readFile(path.join(warmDir, 'client', 'blog', 'images', name))]);
      expect(a.equals(b), name).toBe(true);
    }
    for (const f of ['index.html', 'blog/index.html', 'blog/wild-garlic-pesto/index.html', 'blog/page/1/index.html', 'sitemap.xml']) {
      expect(normalisePerRender(await read(warmDir, f)), f).toBe(normalisePerRender(await read(astroDir, f)));
    }
  });

  it('a targeted rebuild publishes a new image and drops an unused one, as a fresh Astro build does', async () => {
    const before = await live();
    await fs.writeFile(
      path.join(content, 'images', 'honey.png'),
      await sharp({ create: { width: 1200, height: 800, channels: 4, background: { r: 240, g: 180, b: 40, alpha: 0.8 } } }).png().toBuffer(),
    );
    await setFrontMatter('meet-graham-tucker-knowstone-honey', 'feature_image', '/images/honey.png');
    await setFrontMatter('meet-graham-tucker-knowstone-honey', 'feature_image_alt', '"Honey-coloured light through a jar"');
    // Nothing shows the sourdough picture any more.
    for (const slug of ['sourdough-workshop-with-crooked-oak', 'january-pantry-soups']) {
      await setFrontMatter(slug, 'feature_image', null);
      await setFrontMatter(slug, 'feature_image_alt', null);
    }
    expect((await rose('db', 'seed')).stdout).toMatch(/images\s+\+1 added, ~0 updated, -1 removed/);
    runs.targeted = await rose('build', '--targeted');
    expect(runs.targeted.stdout).not.toContain('with Astro');
    const dir = await live();
    expect(dir).not.toBe(before);
    const names = await imagesIn(dir);
    expect(names.filter((n) => n.startsWith('sourdough-'))).toEqual([]);
    // Transparent: AVIF, WebP and PNG (not JPEG) at 480, 960 and its own 1200.
    expect(names.filter((n) => n.startsWith('honey-')).map((n) => n.replace(/\.[0-9a-f]{16}\./, '.')).sort()).toEqual(
      ['honey-1200.avif', 'honey-1200.png', 'honey-1200.webp', 'honey-480.avif', 'honey-480.png', 'honey-480.webp', 'honey-960.avif', 'honey-960.png', 'honey-960.webp'],
    );
    const page = await read(dir, 'blog/meet-graham-tucker-knowstone-honey/index.html');
    expect(page).toMatch(/<img class="feature" [^>]*src="\/blog\/images\/honey-1200\.\w+\.png"[^>]* width="1200" height="800"/);
    expect(await read(dir, 'blog/sourdough-workshop-with-crooked-oak/index.html')).not.toMatch(/<picture[ >]/);
    const empty: string[] = [];
    for (const e of await fs.readdir(path.join(dir, 'client'), { recursive: true, withFileTypes: true })) {
      if (e.isDirectory() && (await fs.readdir(path.join(e.parentPath, e.name))).length === 0) empty.push(e.name);
    }
    expect(empty).toEqual([]);

    await rose('build', '--fresh');
    const fresh = await live();
    expect(await files(dir)).toEqual(await files(fresh));
    const differing: string[] = [];
    for (const f of (await files(fresh)).filter((f) => /\.(html|xml|json)$/.test(f))) {
      if (normalisePerRender(await read(dir, f)) !== normalisePerRender(await read(fresh, f))) differing.push(f);
    }
    expect(differing).toEqual([]);
  });

  it('build progress: the total shown, the count done and the summary agree', () => {
    const check = (run: RunResult, title: string, summary: RegExp) => {
      const totals = [...run.stderr.matchAll(new RegExp(`^${title}: \\d+/(\\d+) \\(`, 'gm'))].map((m) => Number(m[1]));
      const done = Number(new RegExp(`^${title}: (\\d+) done$`, 'm').exec(run.stderr)?.[1]);
      const built = Number(summary.exec(run.stdout)?.[1]);
      expect(totals.length, run.stderr).toBeGreaterThan(0);
      expect(new Set(totals), run.stderr).toEqual(new Set([done]));
      expect(built, run.stdout).toBe(done);
    };
    check(runs.fresh!, 'Rendering pages', /^Built (\d+) files \(\d+ pages\) with Astro/m);
    check(runs.warm!, 'Rendering pages', /^Rendered (\d+) files of blog/m);
    check(runs.targeted!, 'Rendering changed pages', /^Rendered (\d+) files of blog/m);
  });

  it('rose serve: images with their types and a year of caching, /blog/page/1/ moved to /blog/, the icon, RSS as RSS', async () => {
    const port = await freePort();
    const server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], env);
    try {
      const url = (p: string) => new URL(p, server.url).toString();
      const avif = (await imagesIn(await live())).find((n) => n.endsWith('.avif'))!;
      const image = await httpRequest(url(blogLinks.image(avif)));
      expect(image.status).toBe(200);
      expect(image.headers['content-type']).toBe('image/avif');
      expect(image.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const redirect = await httpRequest(url(blogLinks.listPageOne()));
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe(blogLinks.home());
      const icon = await httpRequest(url(siteLinks.favicon()));
      expect(icon.status).toBe(200);
      expect(icon.headers['content-type']).toBe('image/x-icon');
      expect((await httpRequest(url(blogLinks.rss()))).headers['content-type']).toBe('application/rss+xml; charset=utf-8');
      const sitemap = (await httpRequest(url(siteLinks.sitemap()))).text;
      const entries = sitemap.match(/<url>.*?<\/url>/g)!;
      expect(entries.length).toBeGreaterThan(50);
      expect(entries.filter((e) => !e.includes('<lastmod>'))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
