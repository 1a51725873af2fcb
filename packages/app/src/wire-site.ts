import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { RoseError, isErrorCode, linkPaths } from '@rose/core';
import { createMigrations, openDatabase } from '@rose/db';
import { blogChangesSince, blogPageKeys, loadBlogSnapshot, refreshBlogSnapshot, type BlogSnapshot, type BlogVersions } from '@rose/blog';
import { loadMarketSnapshot, marketPageKeys, type MarketSnapshot } from '@rose/market';
import type { Config } from '@rose/config';
import type { Database } from '@rose/db';
import { fillMediaFolder } from '@rose/media';
import { createSiteBuilder, type BuildProgress, type SiteBuilder, type Snapshots, type StaticSource } from '@rose/site-build';
import type { Metrics } from '@rose/observability';
import type { Kysely } from 'kysely';
import { setBuildProgressReporter } from './build-progress.ts';
import { mediaDir, provideRenderData } from './render-data.ts';

/** The parts with prerendered pages, in the order their pages are listed. */
export function staticSources(config: Config): StaticSource<unknown, Kysely<Database>>[] {
  // Image files come from the database into a local folder the pages read while rendering
  // (ADR 0010): copied once, as their names are their content.
  const withMedia = async <S extends { mediaFiles: { name: string }[] }>(db: Kysely<Database>, snapshot: S) => {
    await fillMediaFolder(db, mediaDir(config), snapshot.mediaFiles.map((f) => f.name));
    return snapshot;
  };
  const blog: StaticSource<BlogSnapshot, Kysely<Database>> = {
    part: 'blog',
    prefixes: [linkPaths.blog.home()],
    read: async (db) => withMedia(db, await loadBlogSnapshot(db)),
    refresh: async (db, previous, slugs, versions) => withMedia(db, await refreshBlogSnapshot(db, previous, slugs, versions as BlogVersions | undefined)),
    changes: async (db, previous) => {
      const found = await blogChangesSince(db, previous);
      return { items: found.slugs, all: found.shared, versions: found.versions };
    },
    pageKeys: (snapshot) => blogPageKeys(snapshot, config.postsPerPage),
    describe: (s) => `${s.posts.length} posts, ${s.pages.length} pages, ${s.tags.length} tags, ${s.authors.length} authors, ${s.images.length} images`,
  };
  // The market's snapshot is a handful of queries at any size: a change re-reads all of it.
  const market: StaticSource<MarketSnapshot, Kysely<Database>> = {
    part: 'market',
    prefixes: [linkPaths.market.home()],
    read: async (db) => withMedia(db, await loadMarketSnapshot(db)),
    refresh: async (db) => withMedia(db, await loadMarketSnapshot(db)),
    pageKeys: (snapshot) => marketPageKeys(snapshot),
    describe: (s) => `${s.products.length} products, ${s.producers.length} producers, ${s.categories.length} categories, ${s.cycles.length} cycles`,
  };
  return [blog as StaticSource<unknown, Kysely<Database>>, market as StaticSource<unknown, Kysely<Database>>];
}

export interface SiteBuildOutput {
  info(message: string): void;
  progress(title: string, total: number): BuildProgress;
  verbose: boolean;
}

/**
 * The build pipeline wired to this site: its static sources, the pages' data hook and
 * progress reporting. One per process; it keeps the live release's renderer warm.
 */
export function createSiteBuild(config: Config, out: SiteBuildOutput, opts: { metrics?: Pick<Metrics, 'buildFinished'> } = {}): SiteBuilder {
  const builder = createSiteBuilder({
    root: config.root,
    distDir: config.distDir,
    cacheDir: path.join(config.dataDir, 'astro-cache'),
    siteUrl: config.siteUrl,
    keepReleases: config.keepReleases,
    sources: staticSources(config) as StaticSource<unknown, never>[],
    provide: (data) => provideRenderData(config, data),
    // A whole-part render uses both cores: each thread provides the data the same way.
    renderThreads: { threads: Math.min(2, availableParallelism()), provide: { module: new URL('./render-data.ts', import.meta.url).href, exportName: 'provideRenderData', context: config } },
    onAstroPage: (callback) => setBuildProgressReporter(callback && { pageRendered: callback }),
    info: out.info,
    progress: out.progress,
    verbose: out.verbose,
  });
  const metrics = opts.metrics;
  if (!metrics) return builder;
  // Build durations for /api/metrics, observed in the process that builds (rose serve's worker).
  return {
    ...builder,
    async build(request) {
      const started = performance.now();
      const kind = request.targeted ? 'targeted' : 'full';
      try {
        const result = await builder.build(request);
        metrics.buildFinished(kind, 'ok', result.seconds);
        return result;
      } catch (error) {
        metrics.buildFinished(kind, 'failed', (performance.now() - started) / 1000);
        throw error;
      }
    },
  };
}

/** Migrations current, then every static part's snapshot: the read every build starts with. */
export async function readSnapshotsFrom(db: Kysely<Database>, config: Config): Promise<Snapshots> {
  await createMigrations(db, path.join(config.root, 'migrations')).assertCurrent();
  const out: Record<string, unknown> = {};
  // One part at a time: concurrent reads spike PGlite's memory (see loadBlogSnapshot).
  for (const source of staticSources(config)) out[source.part] = await source.read(db);
  return out;
}

/**
 * Reads everything a build needs, refusing first when migrations are pending. With the
 * embedded database this runs in a worker thread, so PGlite's WASM memory is released when
 * the worker ends instead of staying for the whole Astro build. `db` reuses a database this
 * process already has open (the in-process worker of `rose serve`).
 */
export async function readSnapshots(config: Config, opts: { db?: Kysely<Database> } = {}): Promise<Snapshots> {
  if (opts.db) return readSnapshotsFrom(opts.db, config);
  if (config.database.kind === 'postgres') {
    const handle = await openDatabase(config.database);
    try {
      return await readSnapshotsFrom(handle.db, config);
    } finally {
      await handle.close();
    }
  }
  const worker = new Worker(new URL('./site-data.worker.ts', import.meta.url), { workerData: { config }, resourceLimits: { maxYoungGenerationSizeMb: 16 } });
  return new Promise<Snapshots>((resolve, reject) => {
    let settled = false;
    worker.once('message', (msg: WorkerMessage) => {
      settled = true;
      if (msg.type === 'snapshots') resolve(msg.snapshots);
      else reject(reviveError(msg.error));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`The snapshot worker exited with code ${code} before answering`));
    });
  });
}

export type WorkerMessage =
  | { type: 'snapshots'; snapshots: Snapshots }
  | { type: 'error'; error: { name: string; message: string; title?: string | undefined; hint?: string | undefined; code?: string | undefined } };

function reviveError(e: Extract<WorkerMessage, { type: 'error' }>['error']): Error {
  return e.title
    ? new RoseError({ code: isErrorCode(e.code) ? e.code : 'build-failed', title: e.title, message: e.message, ...(e.hint ? { hint: e.hint } : {}) })
    : Object.assign(new Error(e.message), { name: e.name });
}


