import { promises as fs } from 'node:fs';
import path from 'node:path';
import matter from 'gray-matter';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '@rose/db';
import { createEmptyPostgresDatabase, makeProjectTempDir, repoRoot, runRose, type RunResult } from '@rose/testing';
import { internalLinks, isOnDemandLink, resolvesInBuild } from './site-checks.ts';

// The staff workflow through the real CLI, in a temp folder, on the embedded database. The
// set-up migrates, seeds and builds once; each test starts from that state and leaves it as
// it found it, so they do not depend on each other's order. Help and argument errors are
// checked in-process (cli/src/main.test.ts).
describe('rose CLI end to end (embedded PGlite)', () => {
  let tmp: string;
  let env: Record<string, string>;
  let clientDir: string;
  const setUp: { migrate?: RunResult; status?: RunResult; seed?: RunResult; build?: RunResult } = {};
  const live = async () => (await fs.readlink(path.join(tmp, 'dist', 'current'))).replace('releases/', '');

  beforeAll(async () => {
    tmp = await makeProjectTempDir('cli');
    await fs.cp(path.join(repoRoot, 'content'), path.join(tmp, 'content'), { recursive: true });
    env = {
      ROSE_DATA_DIR: path.join(tmp, '.rose'),
      ROSE_DIST_DIR: path.join(tmp, 'dist'),
      ROSE_CONTENT_DIR: path.join(tmp, 'content'),
      ROSE_SITE_URL: 'https://coop.example.org',
    };
    clientDir = path.join(tmp, 'dist', 'current', 'client');
    setUp.migrate = await runRose(['db', 'migrate'], env);
    setUp.status = await runRose(['db', 'status'], env);
    setUp.seed = await runRose(['db', 'seed'], env);
    setUp.build = await runRose(['build'], env, { timeoutMs: 240_000 });
    for (const [step, r] of Object.entries(setUp)) if (r.code !== 0) throw new Error(`rose ${step} failed in the set-up:\n${r.stdout}\n${r.stderr}`);
  }, 360_000); // four rose processes, one of them an Astro build
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  /** Every row of the content tables, to prove a command changed nothing. */
  const dumpDb = async () => {
    const handle = await openPglite({ dir: path.join(tmp, '.rose', 'pglite') });
    try {
      const out: Record<string, unknown[]> = {};
      for (const table of ['blog_posts', 'blog_tags', 'blog_authors', 'blog_post_tags', 'blog_post_authors', 'blog_navigation', 'site_settings'] as const) {
        out[table] = await handle.db.selectFrom(table).selectAll().execute();
      }
      return out;
    } finally {
      await handle.close();
    }
  };

  it('refuses to build before migrations, naming the fix', async () => {
    const empty = await createEmptyPostgresDatabase();
    try {
      const r = await runRose(['build'], { ...env, DATABASE_URL: empty.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Migrations pending');
      expect(r.stderr).toContain('rose db migrate');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
    } finally {
      await empty.drop();
    }
  });

  it('migrates, seeds, and seeding again changes nothing', async () => {
    expect(setUp.migrate!.stdout).toMatch(/Applied \d+ migration/);
    expect(setUp.status!.stdout).toContain('All migrations applied.');
    expect(setUp.seed!.stdout).toMatch(/posts\s+\+\d+ added/);
    const before = await dumpDb();
    expect(before.blog_posts!.length).toBeGreaterThanOrEqual(30);

    const again = await runRose(['db', 'seed'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(await dumpDb()).toEqual(before);
  });

  it('rejects a bad content file by name and leaves the database unchanged', async () => {
    const before = await dumpDb();
    const bad = path.join(tmp, 'content-bad');
    await fs.cp(path.join(tmp, 'content'), bad, { recursive: true });
    const [first] = (await fs.readdir(path.join(bad, 'posts'))).sort();
    const file = path.join(bad, 'posts', first!);
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace(/^date: .*$/m, 'date: "not a date"'));
    await fs.writeFile(path.join(bad, 'posts', 'new-post.md'), '---\ntitle: New\ndate: 2026-01-01T00:00:00Z\nauthors: [nobody]\n---\nHi\n');
    const r = await runRose(['db', 'seed', '--content', bad], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`posts/${first}: date: expected a date`);
    expect(r.stderr).toContain('posts/new-post.md: authors[0]: unknown author "nobody"');
    expect(r.stderr).toContain('nothing was changed');
    expect(await dumpDb()).toEqual(before);
  });

  it('builds the blog: post pages with tags and author links', async () => {
    expect(setUp.build!.stdout).toMatch(/Built \d+ files \(\d+ pages\) with Astro in \d+\.\d s → release \d{8}T\d{9}Z-[0-9a-f]{4} is live/);

    const posts = await publishedPosts(path.join(tmp, 'content'));
    const sample = posts.find((p) => p.tags.length > 1 && p.authors.length > 0 && p.visibility === 'public')!;
    const html = await fs.readFile(path.join(clientDir, 'blog', sample.slug, 'index.html'), 'utf8');
    expect(html).toMatch(new RegExp(`<h1[^>]*>${escapeRegExp(escapeHtml(sample.title))}</h1>`));
    for (const tag of sample.tags) expect(html).toContain(`href="/blog/tag/${tag}/"`);
    for (const author of sample.authors) expect(html).toContain(`href="/blog/author/${author}/"`);
    expect(html).toContain('<link rel="canonical" href="https://coop.example.org/blog/');
    expect(html).toContain('server-island'); // the account menu island placeholder

    // Drafts never reach the site; members-only bodies never reach a static page.
    const drafts = await draftSlugs(path.join(tmp, 'content'));
    for (const slug of drafts) await expect(fs.access(path.join(clientDir, 'blog', slug))).rejects.toThrow();
    for (const gated of posts.filter((p) => p.visibility !== 'public')) {
      const page = await fs.readFile(path.join(clientDir, 'blog', gated.slug, 'index.html'), 'utf8');
      expect(page).toContain('data-testid="members-only"');
      expect(page).not.toContain(gated.bodyProbe);
    }
    await expect(fs.access(path.join(clientDir, '404.html'))).resolves.toBeUndefined();
  });

  it('every internal link in the build resolves to a built file', async () => {
    const links = await internalLinks(clientDir);
    expect(links.length).toBeGreaterThan(100);
    // Server islands and the members' pages (sign-in, account) are rendered on demand (the
    // server tests fetch them); everything else must be a file in the build.
    const staticLinks = links.filter((l) => !isOnDemandLink(l.link));
    expect(staticLinks.length).toBeGreaterThan(100);
    const broken = staticLinks.filter((l) => !resolvesInBuild(clientDir, l.link));
    expect(broken).toEqual([]);
  });

  it('writes valid RSS, Atom and sitemap XML listing the posts', async () => {
    const posts = await publishedPosts(path.join(tmp, 'content'));
    const parser = new XMLParser({ ignoreAttributes: false });
    const read = async (p: string) => {
      const xml = await fs.readFile(path.join(clientDir, p), 'utf8');
      expect(XMLValidator.validate(xml)).toBe(true);
      return parser.parse(xml);
    };
    const newest = [...posts].sort((a, b) => b.date.getTime() - a.date.getTime()).slice(0, 20);
    const rss = await read('blog/rss.xml');
    const rssLinks = rss.rss.channel.item.map((i: { link: string }) => i.link);
    expect(rssLinks).toEqual(newest.map((p) => `https://coop.example.org/blog/${p.slug}/`));
    const atom = await read('blog/atom.xml');
    expect(atom.feed.entry).toHaveLength(newest.length);
    const json = JSON.parse(await fs.readFile(path.join(clientDir, 'blog', 'feed.json'), 'utf8')) as { version: string; items: { url: string }[] };
    expect(json.version).toBe('https://jsonfeed.org/version/1.1');
    expect(json.items.map((i) => i.url)).toEqual(newest.map((p) => `https://coop.example.org/blog/${p.slug}/`));
    const index = JSON.parse(await fs.readFile(path.join(clientDir, 'blog', 'search-index.json'), 'utf8')) as { u: string }[];
    expect(new Set(index.map((e) => e.u))).toEqual(new Set([...posts.map((p) => `/blog/${p.slug}/`), ...(await pageSlugs(path.join(tmp, 'content'))).map((s) => `/blog/${s}/`)]));
    const sitemap = await read('sitemap.xml');
    const locs = new Set(sitemap.urlset.url.map((u: { loc: string }) => u.loc));
    for (const p of posts) expect(locs).toContain(`https://coop.example.org/blog/${p.slug}/`);
  });

  it('keeps each build as a release, lists them, and rolls back', async () => {
    const first = await live();
    const again = await runRose(['build', 'blog'], env, { timeoutMs: 240_000 });
    expect(again.code, again.stderr).toBe(0);
    const second = await live();
    expect(second).not.toBe(first);
    // Same code: the live release's renderer re-rendered the blog, no Astro build.
    expect(again.stdout).toMatch(/Rendered \d+ files of blog/);
    expect(await fs.readFile(path.join(clientDir, 'blog', 'index.html'), 'utf8')).toContain('<!DOCTYPE html>');

    const list = await runRose(['release', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`→ ${second}.*\\(live\\)`));
    expect(list.stdout).toContain(`  ${first}`);

    const back = await runRose(['release', 'rollback'], env);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`from ${second} to ${first}`);
    expect(await fs.readlink(path.join(tmp, 'dist', 'current'))).toBe(`releases/${first}`);
    const bad = await runRose(['release', 'rollback', '--to', 'nope'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('There is no release "nope"');
    expect(await live()).toBe(first);
  }, 300_000); // a build and five more rose processes

  it('a targeted rebuild re-renders only the pages an edit touches and links the rest', async () => {
    const posts = await publishedPosts(path.join(tmp, 'content'));
    const target = posts.find((p) => p.visibility === 'public')!;
    const file = path.join(tmp, 'content', 'posts', `${target.slug}.md`);
    const original = await fs.readFile(file, 'utf8');
    const releaseBefore = await live();
    await fs.writeFile(file, original.replace(/^title: .*$/m, 'title: "An edited title"'));
    try {
      expect((await runRose(['db', 'seed'], env)).code).toBe(0);
      const liveBefore = await fs.realpath(path.join(tmp, 'dist', 'current'));
      const r = await runRose(['build', '--targeted'], env, { timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      const m = /Rendered (\d+) files of blog \((\d+) changed, \d+ removed; (\d+) pages in the release\)/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThan(1); // the post, its neighbours, lists it is on
      expect(Number(m![1])).toBeLessThan(Number(m![3]) / 3);
      const html = await fs.readFile(path.join(clientDir, 'blog', target.slug, 'index.html'), 'utf8');
      expect(html).toMatch(/<h1[^>]*>An edited title<\/h1>/);
      // An untouched page is the same file as in the previous release (a hard link).
      const untouched = posts.find((p) => p.slug !== target.slug && p.date < target.date && p.tags.every((t) => !target.tags.includes(t)) && p.authors.every((a) => !target.authors.includes(a)));
      if (untouched) {
        const a = await fs.stat(path.join(liveBefore, 'client', 'blog', untouched.slug, 'index.html'));
        const b = await fs.stat(path.join(clientDir, 'blog', untouched.slug, 'index.html'));
        expect(b.ino).toBe(a.ino);
      }
      const broken = (await internalLinks(clientDir)).filter((l) => !isOnDemandLink(l.link) && !resolvesInBuild(clientDir, l.link));
      expect(broken).toEqual([]);
      const again = await runRose(['build', '--targeted'], env, { timeoutMs: 240_000 });
      expect(again.stdout).toContain('Nothing to rebuild');
    } finally {
      await fs.writeFile(file, original);
      await runRose(['db', 'seed'], env);
      await runRose(['release', 'rollback', '--to', releaseBefore], env);
    }
  }, 480_000); // two targeted builds and four more rose processes
});

interface ContentPostInfo {
  slug: string;
  title: string;
  date: Date;
  tags: string[];
  authors: string[];
  visibility: string;
  bodyProbe: string;
}

async function readPosts(contentDir: string) {
  const dir = path.join(contentDir, 'posts');
  const out: (ContentPostInfo & { status: string })[] = [];
  for (const file of (await fs.readdir(dir)).filter((f) => f.endsWith('.md'))) {
    const parsed = matter(await fs.readFile(path.join(dir, file), 'utf8'), {});
    const d = parsed.data as Record<string, unknown>;
    const body = parsed.content.trim().split('\n').find((l) => l.length > 40 && !/[*_`[\]#>|]/.test(l)) ?? parsed.content.trim();
    out.push({
      slug: (d.slug as string | undefined) ?? file.replace(/\.md$/, ''),
      title: String(d.title),
      date: new Date(d.date as string),
      tags: (d.tags as string[] | undefined) ?? [],
      authors: (d.authors as string[] | undefined) ?? [],
      visibility: (d.visibility as string | undefined) ?? 'public',
      status: (d.status as string | undefined) ?? 'published',
      bodyProbe: body.slice(0, 60),
    });
  }
  return out;
}

async function publishedPosts(contentDir: string): Promise<ContentPostInfo[]> {
  return (await readPosts(contentDir)).filter((p) => p.status === 'published');
}

async function draftSlugs(contentDir: string): Promise<string[]> {
  return (await readPosts(contentDir)).filter((p) => p.status !== 'published').map((p) => p.slug);
}

async function pageSlugs(contentDir: string): Promise<string[]> {
  return (await fs.readdir(path.join(contentDir, 'pages'))).filter((f) => f.endsWith('.md')).map((f) => f.replace(/\.md$/, ''));
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
