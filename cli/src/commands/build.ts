import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { provideSiteData, readSiteSnapshot, setBuildProgressReporter, type SiteData } from '@rose/app';
import { blogPageKeys, blogSitemapEntries, diffPageKeys } from '@rose/blog';
import { RoseError } from '@rose/core';
import type { Database } from '@rose/db';
import { createReleaseStore, linkReleaseFiles, overlayFiles, readReleaseFile } from '@rose/releases';
import { precompressTree } from '@rose/static-files';
import type { CommandContext } from '../context.ts';
import { createProgress } from '../progress.ts';

/** Parts that have static pages today. */
export const buildableParts = ['blog'] as const;

export interface BuildResult {
  release: string;
  kind: 'full' | 'targeted' | 'unchanged';
  pages: number;
  /** Pages rendered by this build (all of them for a full build). */
  rendered: number;
  seconds: number;
  outDir: string;
}

export interface BuildOptions {
  parts: string[];
  /** Reuse an open database (the in-process worker) instead of opening one. */
  db?: Kysely<Database>;
  /** Re-render only the pages whose data changed since the live release, when possible. */
  targeted?: boolean;
}

/** A targeted rebuild is not worth it when most pages changed anyway. */
const targetedLimit = 0.3;

export async function buildSite(ctx: CommandContext, opts: BuildOptions): Promise<BuildResult> {
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
  // renders from memory and never holds a connection; pending migrations refuse the build
  // before anything is written. The read finishes before Astro starts: overlapping it with
  // Astro's bundling saved ~1 s at 10k posts but pushed peak RSS over 1 GiB (PGlite and
  // the bundler in memory at once), see docs/adr/0003.
  const snapshot = await readSiteSnapshot(ctx.config, opts.db ? { db: opts.db } : {});
  const readSeconds = (performance.now() - started) / 1000;
  const parts = opts.parts.length ? opts.parts : [...buildableParts];
  const releases = createReleaseStore({ distDir: ctx.config.distDir, keep: ctx.config.keepReleases });
  const pageKeys = blogPageKeys(snapshot, ctx.config.postsPerPage);
  const codeHash = await sourceHash(ctx.config.root);
  const keysSeconds = (performance.now() - started) / 1000 - readSeconds;

  // A targeted rebuild needs a live release built from the same code, with its page keys.
  const current = opts.targeted ? await releases.current() : undefined;
  const previousKeys = current && current.codeHash === codeHash ? await readReleaseFile<Record<string, string>>(current.dir, 'pages.json') : undefined;
  const diff = previousKeys ? diffPageKeys(new Map(Object.entries(previousKeys)), pageKeys) : undefined;
  const targeted = current && diff && diff.render.length + diff.remove.length <= pageKeys.size * targetedLimit ? { current, diff } : undefined;
  if (targeted && targeted.diff.render.length === 0 && targeted.diff.remove.length === 0) {
    ctx.out.info(`Nothing to rebuild: every page of release ${targeted.current.id} is up to date.`);
    return { release: targeted.current.id, kind: 'unchanged', pages: targeted.current.pages, rendered: 0, seconds: (performance.now() - started) / 1000, outDir: targeted.current.dir };
  }

  const staged = await releases.stage();
  // Astro writes a full build here; a targeted one writes a partial build beside it.
  const astroOut = targeted ? path.join(ctx.config.distDir, 'tmp', staged.id) : staged.dir;
  const expected = targeted ? targeted.diff.render.length + 10 : blogSitemapEntries(snapshot, ctx.config.postsPerPage).length + 5;
  const progress = createProgress({ title: targeted ? 'Rendering changed pages' : 'Rendering pages', total: expected, isTTY: ctx.out.isTTY });
  ctx.out.info(
    targeted
      ? `Targeted rebuild of ${parts.join(', ')}: ${targeted.diff.render.length} page(s) changed, ${targeted.diff.remove.length} removed (of ${pageKeys.size}).`
      : `Building ${parts.join(', ')}: ${snapshot.posts.length} posts, ${snapshot.pages.length} pages, ${snapshot.tags.length} tags, ${snapshot.authors.length} authors`,
  );
  const siteData: SiteData = { config: ctx.config, blog: snapshot, release: staged.id, ...(targeted ? { renderOnly: new Set(targeted.diff.render) } : {}) };
  provideSiteData(siteData);
  setBuildProgressReporter({ pageRendered: () => progress.tick() });
  process.env.ASTRO_TELEMETRY_DISABLED = '1';
  let astroSeconds = 0;
  try {
    const { build } = await import('astro');
    await build({
      root: ctx.config.root,
      outDir: astroOut,
      cacheDir: path.join(ctx.config.dataDir, 'astro-cache'),
      site: ctx.config.siteUrl,
      logLevel: ctx.out.verbose ? 'info' : 'warn',
    });
    astroSeconds = (performance.now() - started) / 1000 - readSeconds - keysSeconds;
    if (targeted) await composeTargetedRelease(targeted.current.dir, astroOut, staged.dir, targeted.diff.remove);
  } catch (error) {
    await releases.discard(staged);
    throw new RoseError({
      code: 'build-failed',
      title: 'Build failed',
      message: `Astro could not build the site: ${(error as Error).message}`,
      hint: 'Run with --verbose for details. The live release was not touched.',
      cause: error,
    });
  } finally {
    if (targeted) {
      await fs.rm(astroOut, { recursive: true, force: true });
      await fs.rmdir(path.dirname(astroOut)).catch(() => {}); // dist/tmp, when nothing else uses it
    }
    progress.done();
    setBuildProgressReporter(undefined);
    provideSiteData(undefined);
  }
  const pages = await countHtml(path.join(staged.dir, 'client'));
  const rendered = targeted ? targeted.diff.render.length : pages;
  const builtSeconds = (performance.now() - started) / 1000;
  await precompressTree(path.join(staged.dir, 'client'));
  await releases.publish(
    staged,
    { pages, seconds: Math.round(builtSeconds * 100) / 100, parts, codeHash, kind: targeted ? 'targeted' : 'full', rendered },
    { pageKeys: Object.fromEntries(pageKeys) },
  );
  // The new release is live from here; pruning old ones is not part of the wait.
  const seconds = (performance.now() - started) / 1000;
  if (ctx.out.verbose) {
    const usage = process.resourceUsage();
    ctx.out.info(
      `  read the database ${readSeconds.toFixed(2)} s, page keys ${keysSeconds.toFixed(2)} s, Astro ${astroSeconds.toFixed(2)} s; peak RSS ${(usage.maxRSS / 1024).toFixed(0)} MiB, CPU ${((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(1)} s`,
    );
  }
  const what = targeted ? `Re-rendered ${rendered} of ${pages} pages` : `Built ${pages} pages`;
  ctx.out.info(`${what} in ${seconds.toFixed(1)} s → release ${staged.id} is live (${path.relative(process.cwd(), releases.currentLink) || releases.currentLink})`);
  const { pruned } = await releases.prune();
  if (pruned.length > 0) ctx.out.info(`  removed ${pruned.length} old release(s), keeping ${ctx.config.keepReleases}`);
  return { release: staged.id, kind: targeted ? 'targeted' : 'full', pages, rendered, seconds, outDir: staged.dir };
}

/**
 * New release = the live one (hard links, so unchanged files cost nothing) + the freshly
 * rendered pages and feeds + nothing of the removed pages. The live release's server
 * bundle is kept: it is the same code (checked through the code hash).
 */
async function composeTargetedRelease(liveDir: string, partialDir: string, releaseDir: string, removed: string[]): Promise<void> {
  await linkReleaseFiles(liveDir, releaseDir);
  await overlayFiles(path.join(partialDir, 'client'), path.join(releaseDir, 'client'));
  for (const p of removed) {
    const dir = path.join(releaseDir, 'client', p);
    await fs.rm(path.join(dir, 'index.html'), { force: true });
    await fs.rmdir(dir).catch(() => {}); // keep it if other pages live below it
  }
}

/** Hash of everything that shapes the rendered HTML: site source, packages, config, lockfile. */
async function sourceHash(root: string): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = ['astro.config.ts', 'package-lock.json'];
  for (const dir of ['sites', 'packages']) {
    for (const entry of await fs.readdir(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.parentPath.includes('node_modules') || /\.test\.ts$/.test(entry.name)) continue;
      files.push(path.relative(root, path.join(entry.parentPath, entry.name)));
    }
  }
  for (const f of files.sort()) {
    hash.update(f);
    hash.update(await fs.readFile(path.join(root, f)));
  }
  return hash.digest('hex').slice(0, 16);
}

async function countHtml(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.html')) n++;
  }
  return n;
}

