import { promises as fs } from 'node:fs';
import path from 'node:path';
import { provideSiteData, readSiteSnapshot, setBuildProgressReporter } from '@rose/app';
import { blogSitemapEntries } from '@rose/blog';
import { RoseError } from '@rose/core';
import type { Database } from '@rose/db';
import { createReleaseStore } from '@rose/releases';
import type { Kysely } from 'kysely';
import type { CommandContext } from '../context.ts';
import { createProgress } from '../progress.ts';

/** Parts that have static pages today. */
export const buildableParts = ['blog'] as const;

export interface BuildResult {
  release: string;
  pages: number;
  seconds: number;
  outDir: string;
}

export async function buildSite(ctx: CommandContext, opts: { parts: string[]; db?: Kysely<Database> }): Promise<BuildResult> {
  const unknown = opts.parts.filter((p) => !(buildableParts as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Unknown part',
      message: `No static part called ${unknown.map((p) => `"${p}"`).join(', ')}.`,
      hint: `Parts with static pages: ${buildableParts.join(', ')}. Run \`rose build\` with no arguments to build them all.`,
    });
  }
  const started = performance.now();
  // Everything the pages show is read up front and the database closed, so the build
  // renders from memory and never holds a connection. Migrations are checked first (a
  // refusal touches nothing). The read finishes before Astro starts: overlapping it with
  // Astro's bundling saved ~1 s at 10k posts but pushed peak RSS over 1 GiB (PGlite and
  // the bundler in memory at once), see docs/adr/0003.
  const reading = readSiteSnapshot(ctx.config, opts.db ? { db: opts.db } : {});
  await reading.checked;
  await reading.snapshot;
  const releases = createReleaseStore({ distDir: ctx.config.distDir, keep: ctx.config.keepReleases });
  const staged = await releases.stage();
  const progress = createProgress({ title: 'Rendering pages', total: 0, isTTY: ctx.out.isTTY });
  let readSeconds = 0;
  const siteData = reading.snapshot.then((snapshot) => {
    readSeconds = (performance.now() - started) / 1000;
    progress.setTotal(blogSnapshotPageCount(snapshot, ctx.config.postsPerPage));
    ctx.out.info(
      `Building ${opts.parts.length ? opts.parts.join(', ') : buildableParts.join(', ')}: ${snapshot.posts.length} posts, ${snapshot.pages.length} pages, ${snapshot.tags.length} tags, ${snapshot.authors.length} authors`,
    );
    return { config: ctx.config, blog: snapshot, release: staged.id };
  });
  provideSiteData(siteData);
  setBuildProgressReporter({ pageRendered: () => progress.tick() });
  process.env.ASTRO_TELEMETRY_DISABLED = '1';
  const { build } = await import('astro');
  try {
    await build({
      root: ctx.config.root,
      outDir: staged.dir,
      cacheDir: path.join(ctx.config.dataDir, 'astro-cache'),
      site: ctx.config.siteUrl,
      logLevel: ctx.out.verbose ? 'info' : 'warn',
    });
  } catch (error) {
    await releases.discard(staged);
    // If reading the data failed, that is the real cause; say it plainly.
    await reading.snapshot;
    throw new RoseError({
      code: 'build-failed',
      title: 'Build failed',
      message: `Astro could not build the site: ${(error as Error).message}`,
      hint: 'Run with --verbose for details. The live release was not touched.',
      cause: error,
    });
  } finally {
    progress.done();
    setBuildProgressReporter(undefined);
    provideSiteData(undefined);
  }
  const pages = await countHtml(path.join(staged.dir, 'client'));
  const seconds = (performance.now() - started) / 1000;
  const { pruned } = await releases.publish(staged, { pages, seconds: Math.round(seconds * 100) / 100, parts: opts.parts.length ? opts.parts : [...buildableParts] });
  if (ctx.out.verbose) {
    const usage = process.resourceUsage();
    ctx.out.info(
      `  read the database in ${readSeconds.toFixed(2)} s; peak RSS ${(usage.maxRSS / 1024).toFixed(0)} MiB, CPU ${((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(1)} s`,
    );
  }
  ctx.out.info(`Built ${pages} pages in ${seconds.toFixed(1)} s → release ${staged.id} is live (${path.relative(process.cwd(), releases.currentLink) || releases.currentLink})`);
  if (pruned.length > 0) ctx.out.info(`  removed ${pruned.length} old release(s), keeping ${ctx.config.keepReleases}`);
  return { release: staged.id, pages, seconds, outDir: staged.dir };
}

/** Static pages a snapshot turns into: sitemap entries plus home, 404, feeds and sitemap. */
function blogSnapshotPageCount(snapshot: Parameters<typeof blogSitemapEntries>[0], perPage: number): number {
  return blogSitemapEntries(snapshot, perPage).length + 5;
}

async function countHtml(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.html')) n++;
  }
  return n;
}
