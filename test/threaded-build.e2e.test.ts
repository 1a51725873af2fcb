import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedContent } from '@rose/blog';
import type { Database } from '@rose/db';
import { normalisePerRender } from '@rose/site-build';
import { createEmptyPostgresDatabase, makeProjectTempDir, repoRoot, runRose } from '@rose/testing';
import { generatedBundle } from '../bench/generated-posts.ts';

// A build of a whole part of 500 pages or more renders in worker threads, each writing and
// compressing the files it rendered: the demo content is too small for that, so these tests
// seed generated posts. The threads must write what Astro writes when it renders every page
// itself, with compressed variants the static server takes for current, and a content
// rebuild through threads must still write only the files whose bytes changed.

const posts = 600;
const renderThreads = Math.min(2, availableParallelism());
// Node's own debug output names the script of each worker thread it starts: the one sign,
// outside the build's code, that the pages went through render threads.
const debugWorkers = { NODE_DEBUG: 'worker' };
const renderWorkersStarted = (stderr: string) => stderr.split('\n').filter((l) => /starts worker script \S*render-worker\.ts/.test(l)).length;

interface Project {
  dir: string;
  db: Kysely<Database>;
  rose(args: string[], extraEnv?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  /** The live release's folder. */
  live(): Promise<string>;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A project of its own: an empty database, migrated and seeded with the generated posts. */
async function project(name: string): Promise<Project> {
  const dir = await makeProjectTempDir(name);
  const database = await createEmptyPostgresDatabase();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) });
  cleanups.push(async () => {
    await db.destroy();
    await database.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const env = {
    DATABASE_URL: database.url,
    ROSE_DATA_DIR: path.join(dir, '.rose'),
    ROSE_DIST_DIR: path.join(dir, 'dist'),
    ROSE_CONTENT_DIR: path.join(repoRoot, 'content'),
  };
  const rose: Project['rose'] = async (args, extraEnv = {}) => {
    const r = await runRose(args, { ...env, ...extraEnv }, { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  await rose(['db', 'migrate']);
  await seedContent(db, generatedBundle(posts));
  return { dir, db, rose, live: () => fs.realpath(path.join(dir, 'dist', 'current')) };
}

/** A threaded `rose build --fresh`: checks it rendered through the render threads, answers the release folder. */
async function freshThreadedBuild(p: Project): Promise<string> {
  const r = await p.rose(['build', '--fresh', '--verbose'], debugWorkers);
  const built = /Built (\d+) files \((\d+) pages\) with Astro/.exec(r.stdout);
  expect(built, r.stdout).not.toBeNull();
  expect(Number(built![1])).toBeGreaterThanOrEqual(500);
  expect(renderWorkersStarted(r.stderr), 'render threads started (per NODE_DEBUG=worker)').toBe(renderThreads);
  return p.live();
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const isVariant = (f: string) => /\.(br|gz)$/.test(f);
// What the pages render (the rest is Astro's scripts, styles and public files).
const isPage = (f: string) => /\.(html|xml|json|txt)$/.test(f);

/**
 * What is wrong with the compressed variants under `client`: each must decompress to its
 * source's bytes and carry its source's modification time (the static server serves a
 * variant only then, see isVariantCurrent in @rose/static-files), and every page of 1 KiB
 * or more must have both.
 */
async function variantProblems(client: string): Promise<string[]> {
  const files = await filesUnder(client);
  const present = new Set(files);
  const problems: string[] = [];
  for (const f of files.filter(isVariant)) {
    const source = f.slice(0, -3);
    if (!present.has(source)) {
      problems.push(`${f}: no ${source}`);
      continue;
    }
    const [data, packed, sourceStat, variantStat] = await Promise.all([fs.readFile(path.join(client, source)), fs.readFile(path.join(client, f)), fs.stat(path.join(client, source)), fs.stat(path.join(client, f))]);
    let unpacked: Buffer | undefined;
    try {
      unpacked = f.endsWith('.br') ? brotliDecompressSync(packed) : gunzipSync(packed);
    } catch (error) {
      problems.push(`${f}: does not decompress (${(error as Error).message})`);
    }
    if (unpacked && !unpacked.equals(data)) problems.push(`${f}: decompresses to ${unpacked.length} bytes that are not ${source}'s ${data.length}`);
    if (Math.abs(sourceStat.mtimeMs - variantStat.mtimeMs) >= 1) problems.push(`${f}: modified at ${variantStat.mtimeMs}, its source at ${sourceStat.mtimeMs}`);
  }
  for (const f of files.filter((f) => isPage(f))) {
    if ((await fs.stat(path.join(client, f))).size < 1024) continue;
    for (const suffix of ['.br', '.gz']) if (!present.has(f + suffix)) problems.push(`${f}: no ${suffix} variant`);
  }
  return problems;
}

describe('rose build: pages rendered in threads', () => {
  // One project for both tests (seeding and a first build cost half a minute on a busy
  // machine); each test works from whatever release is live, so either may run first.
  let p: Project;
  let threaded: string;
  beforeAll(async () => {
    p = await project('threaded-build');
    threaded = await freshThreadedBuild(p);
  }, 600_000);

  it('writes what Astro writes rendering every page itself, each page compressed alongside', { timeout: 600_000 }, async () => {
    const threadedClient = path.join(threaded, 'client');
    const problems = await variantProblems(threadedClient);
    expect(problems, problems.slice(0, 10).join('\n')).toEqual([]);

    // The reference: Astro rendering every page itself, on one thread.
    const reference = await p.rose(['build', '--fresh', '--astro-render'], debugWorkers);
    expect(reference.stdout).toContain('with Astro');
    expect(renderWorkersStarted(reference.stderr), 'render threads started (per NODE_DEBUG=worker)').toBe(0);
    const astro = await p.live();
    expect(astro).not.toBe(threaded);
    const astroClient = path.join(astro, 'client');

    const threadedFiles = await filesUnder(threadedClient);
    const astroFiles = await filesUnder(astroClient);
    expect(threadedFiles.filter((f) => !isVariant(f))).toEqual(astroFiles.filter((f) => !isVariant(f)));
    // The same pages served compressed: the threads apply the same size rules as the pass over Astro's files.
    expect(threadedFiles.filter(isVariant)).toEqual(astroFiles.filter(isVariant));
    const pages = astroFiles.filter(isPage);
    expect(pages.filter((f) => f.endsWith('.html')).length).toBeGreaterThanOrEqual(posts);
    const differing: string[] = [];
    for (const f of pages) {
      const [a, b] = await Promise.all([fs.readFile(path.join(threadedClient, f), 'utf8'), fs.readFile(path.join(astroClient, f), 'utf8')]);
      if (normalisePerRender(a) !== normalisePerRender(b)) differing.push(f);
    }
    expect(differing, `${differing.length} of ${pages.length} pages differ`).toEqual([]);
  });

  it('re-renders the whole blog in threads after an edit, writing only the files that changed', { timeout: 600_000 }, async () => {
    const before = await p.live();
    const slug = `post-${posts / 2}`;
    const title = 'An edited title rendered by a render thread';
    const edited = await p.db.updateTable('blog_posts').set({ title, updated_at: new Date() }).where('slug', '=', slug).executeTakeFirstOrThrow();
    expect(edited.numUpdatedRows).toBe(1n);

    const r = await p.rose(['build', '--verbose'], debugWorkers);
    // The code hash covers the source under packages/ and sites/: an edit there meanwhile means a new Astro build.
    expect(r.stdout, 'a new Astro build instead of the kept renderer: did the source change during the test?').not.toContain('with Astro');
    expect(renderWorkersStarted(r.stderr), 'render threads started (per NODE_DEBUG=worker)').toBe(renderThreads);
    // The whole build: every part with static pages (the blog and the market), none targeted.
    const summary = /Rendered (\d+) files of [\w, ]*\bblog\b[\w, ]* \((\d+) changed, 0 removed/.exec(r.stdout);
    expect(summary, r.stdout).not.toBeNull();
    const [rendered, changed] = [Number(summary![1]), Number(summary![2])];
    expect(rendered).toBeGreaterThanOrEqual(500);
    const after = await p.live();
    expect(after).not.toBe(before);

    // Unchanged files are the previous release's, linked (same inode); written ones are new.
    const client = path.join(after, 'client');
    const files = await filesUnder(client);
    expect(files).toEqual(await filesUnder(path.join(before, 'client')));
    const written: string[] = [];
    for (const f of files) {
      const [now, then] = await Promise.all([fs.stat(path.join(client, f)), fs.stat(path.join(before, 'client', f))]);
      if (now.ino !== then.ino) written.push(f);
    }
    const page = `blog/${slug}/index.html`;
    expect(written).toContain(page);
    expect(written).toContain(`${page}.br`);
    expect(written).toContain(`${page}.gz`);
    expect(written.filter((f) => !isVariant(f))).toHaveLength(changed);
    // The post, its neighbours and the lists and feeds that show its title: a handful.
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(30);
    expect(written.length / files.length).toBeLessThan(0.05);
    expect(await fs.readFile(path.join(client, page), 'utf8')).toContain(title);
    const problems = await variantProblems(client);
    expect(problems, problems.slice(0, 10).join('\n')).toEqual([]);
  });
});
