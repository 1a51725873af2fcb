import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoseError } from '@rose/core';
import { createReleaseStore, readReleaseFile, type Release } from '@rose/releases';
import { precompressTree } from '@rose/static-files';
import { linkTree } from './link-tree.ts';
import { withVariants, writeRendered } from './release-compose.ts';
import { renderInWorkers, type WorkerProvide } from './render-threads.ts';
import { onAstroPlanned } from './renderer-capture.ts';
import { sourceHash } from './source-hash.ts';
import { ownerOf, resolveParts, type Snapshots, type StaticSource } from './static-source.ts';
import { hasWarmRenderer, loadWarmRenderer, type RenderedFile, type RenderedPath, type WarmRenderer } from './warm-renderer.ts';

/** What the pages read while a build renders them. */
export interface RenderData {
  snapshots: Snapshots;
  release: string;
  /** Dynamic paths to render (a targeted rebuild); every path when absent. */
  renderOnly?: ReadonlySet<string>;
}

export interface BuildProgress {
  tick(): void;
  setTotal(total: number): void;
  done(): void;
}

export interface SiteBuildDeps {
  root: string;
  distDir: string;
  /** Astro's cache folder. */
  cacheDir: string;
  siteUrl: string;
  keepReleases: number;
  sources: readonly StaticSource<unknown, never>[];
  /** Makes the data visible to the pages (the site's data hook), or clears it. */
  provide(data: RenderData | undefined): void;
  /** Called by the site's middleware for each page an Astro build renders. */
  onAstroPage(callback: ((pathname: string) => void) | undefined): void;
  /**
   * Render a whole part (not a targeted rebuild) in this many worker threads, each making the
   * snapshots visible to its pages through `provide` (a module's export, as `provide` above).
   */
  renderThreads?: { threads: number; provide: WorkerProvide };
  info(message: string): void;
  progress(title: string, total: number): BuildProgress;
  verbose: boolean;
}

export interface BuildRequest {
  snapshots: Snapshots;
  /** Parts to build; empty for all. Other parts' files stay as they are in the live release. */
  parts?: readonly string[];
  /** Render only pages whose key changed since the live release. */
  targeted?: boolean;
  /** Run a new Astro build even when the live release's renderer runs the same code. */
  fresh?: boolean;
  /**
   * Run a new Astro build and let Astro render the pages itself (on one thread) instead of
   * the bundle it keeps: slower, for checking that the two render alike.
   */
  astroRenders?: boolean;
  /**
   * Re-render with the live release's code without comparing it to the source on disk: a
   * content change rebuilt by the server that runs that release (its worker) looks like
   * the rest of the release whatever happened to the source since.
   */
  liveCode?: boolean;
  /**
   * Called once the changed files are written, before the rest of the release is linked in
   * and `current` switched: a server in this process can serve them straight away.
   */
  onPatch?(patch: ReleasePatch): Promise<void> | void;
}

/** A release as the changes on top of another: what `onPatch` receives. */
export interface ReleasePatch {
  id: string;
  dir: string;
  base: string;
  /** Files under `client/` written by this build (absolute paths under `dir`). */
  written: string[];
  /** Files under `client/` of the base that are gone. */
  removed: string[];
}

export interface BuildResult {
  release: string;
  /** `astro`: a new Astro build; `warm`: pages re-rendered by the live release's code. */
  kind: 'astro' | 'warm' | 'unchanged';
  parts: string[];
  /** Pages (HTML files) in the release. */
  pages: number;
  /** Files rendered by this build (pages, feeds, indexes). */
  rendered: number;
  /** Of those, files whose bytes changed. */
  changed: number;
  removed: number;
  seconds: number;
  dir: string;
  timings: Record<string, number>;
}

export interface SiteBuilder {
  build(request: BuildRequest): Promise<BuildResult>;
  /**
   * The snapshots of this builder's last build (or the ones `adoptSnapshots` gave it): a
   * base to read only what changed since (`StaticSource.changes` and `refresh`). Not tied
   * to the live release: a targeted build compares page keys with whatever release is live.
   */
  baseSnapshots(): Snapshots | undefined;
  /**
   * Gets ready for the first rebuild (a server starting): makes `snapshots` the base (unless
   * a build made one meanwhile) and computes their page keys (cached per item); for a site of
   * hundreds of pages or more, also loads the live release's renderer and renders a sample
   * of pages, thrown away, so the first rebuild finds the pages' code compiled.
   */
  warmUp(snapshots: Snapshots): Promise<void>;
  /** Drops the kept renderer (e.g. when the server stops). */
  close(): void;
}

const pagesFile = 'pages.json';
/** Below this many pages, starting render threads costs more than it saves. */
const minPagesForThreads = 500;

/**
 * The build pipeline of every part with static pages. A build reads nothing itself: the
 * caller passes the parts' snapshots. When the live release was built from the same code,
 * pages are re-rendered by its kept renderer (no Vite, milliseconds per page) and only
 * changed files are written; otherwise Astro builds everything. Either way the result is a
 * complete release, switched in atomically.
 *
 * @example
 * const builder = createSiteBuilder({ ...deps, sources: [blogSource] });
 * await builder.build({ snapshots: { blog }, parts: ['blog'], targeted: true });
 */
export function createSiteBuilder(deps: SiteBuildDeps): SiteBuilder {
  const releases = createReleaseStore({ distDir: deps.distDir, keep: deps.keepReleases });
  let renderer: { codeHash: string | undefined; renderer: WarmRenderer } | undefined;
  let base: Snapshots | undefined;
  // One build (or warm-up) at a time: the pages read their data from one place (`provide`).
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(body: () => Promise<T>): Promise<T> => {
    const run = chain.then(body, body);
    chain = run.catch(() => undefined);
    return run;
  };

  // One renderer per code version: releases built from the same code share it (it loads
  // every page module up front, so it keeps working after its release is pruned).
  const rendererFor = async (release: Release): Promise<WarmRenderer> => {
    if (!renderer || renderer.codeHash !== release.codeHash) renderer = { codeHash: release.codeHash, renderer: await loadWarmRenderer(release.dir) };
    return renderer.renderer;
  };

  return {
    close() {
      renderer = undefined;
      base = undefined;
    },
    baseSnapshots: () => base,
    warmUp: (snapshots) =>
      exclusive(async () => {
        base ??= snapshots;
        const keys: string[] = [];
        for (const s of deps.sources) keys.push(...s.pageKeys(snapshots[s.part]).keys());
        // A small site's first rebuild loads the renderer in a moment; a server start (and
        // every test's) need not pay for it.
        if (keys.length < minPagesForThreads) return;
        const current = await releases.current();
        if (!current || !(await hasWarmRenderer(current.dir))) return;
        const warm = await rendererFor(current);
        const every = Math.max(1, Math.ceil(keys.length / 16));
        const sample = new Set(keys.filter((_, i) => i % every === 0));
        deps.provide({ snapshots, release: current.id, renderOnly: sample });
        try {
          await warm.render({ select: (p, dynamic) => !dynamic || sample.has(p) });
        } finally {
          deps.provide(undefined);
        }
      }),
    build: (request) =>
      exclusive(async () => {
        const result = await buildOnce(request);
        base = request.snapshots;
        return result;
      }),
  };

  async function buildOnce(request: BuildRequest): Promise<BuildResult> {
    const started = performance.now();
    const timings: Record<string, number> = {};
    let mark = started;
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = Math.round(now - mark);
      mark = now;
    };
    const parts = resolveParts(deps.sources, request.parts ?? []);
    const sources = deps.sources.filter((s) => parts.includes(s.part));
    for (const s of deps.sources) {
      if (!(s.part in request.snapshots)) throw new Error(`No snapshot for part "${s.part}" was passed to the build`);
    }
    const keys = new Map<string, string>();
    for (const s of sources) for (const [p, k] of s.pageKeys(request.snapshots[s.part])) keys.set(p, k);
    lap('keys');
    const current = await releases.current();
    // The site URL is baked into pages (canonical links, Astro.site) as much as the code is: a
    // release built for another origin is not re-rendered through, it is built again.
    const origin = createHash('sha1').update(deps.siteUrl).digest('hex').slice(0, 8);
    const codeHash = request.liveCode && current?.codeHash?.endsWith(`-${origin}`) ? current.codeHash : `${await sourceHash(deps.root)}-${origin}`;
    lap('code hash');
    const warm = !request.fresh && !request.astroRenders && current && current.codeHash === codeHash && (await hasWarmRenderer(current.dir));
    if (!warm) {
      // A new Astro build renders every part: pages of other parts would otherwise be
      // missing or built from other code.
      const allKeys = sources.length === deps.sources.length ? keys : new Map<string, string>();
      if (allKeys !== keys) for (const s of deps.sources) for (const [p, k] of s.pageKeys(request.snapshots[s.part])) allKeys.set(p, k);
      return astroBuild(request, allKeys, codeHash, started, timings);
    }
    return warmBuild(request, current, sources, parts, keys, codeHash, started, timings, lap);
  }

  async function astroBuild(request: BuildRequest, keys: Map<string, string>, codeHash: string, started: number, timings: Record<string, number>): Promise<BuildResult> {
    const allParts = deps.sources.map((s) => s.part);
    const staged = await releases.stage();
    const clientDir = path.join(staged.dir, 'client');
    // Astro builds the code and assets; the pages are rendered by the bundle it keeps (in
    // render threads for a part of `minPagesForThreads` or more), each file written and
    // compressed by the thread that rendered it (Astro renders on one thread and leaves
    // compression for a second pass over the files).
    const astroRenders = request.astroRenders === true;
    deps.info(`Building ${deps.sources.map((s) => `${s.part} (${s.describe(request.snapshots[s.part])})`).join(', ')} with Astro`);
    let rendered = 0;
    let m = performance.now();
    const progress = astroRenders ? deps.progress('Rendering pages', keys.size) : undefined;
    if (progress) {
      deps.provide({ snapshots: request.snapshots, release: staged.id });
      onAstroPlanned((count) => progress.setTotal(count));
      deps.onAstroPage(() => {
        rendered++;
        progress.tick();
      });
    }
    process.env.ASTRO_TELEMETRY_DISABLED = '1';
    const options = { root: deps.root, outDir: staged.dir, cacheDir: deps.cacheDir, site: deps.siteUrl, logLevel: deps.verbose ? ('info' as const) : ('warn' as const) };
    try {
      if (astroRenders) {
        const { build } = await import('astro');
        await build(options);
      } else {
        await buildBundleInChild(options);
      }
    } catch (error) {
      await releases.discard(staged);
      throw buildFailed('Astro could not build the site', error);
    } finally {
      if (progress) {
        progress.done();
        onAstroPlanned(undefined);
        deps.onAstroPage(undefined);
        deps.provide(undefined);
      }
    }
    timings.astro = Math.round(performance.now() - m);
    m = performance.now();
    // What Astro wrote (scripts, styles, public files; every page too when it rendered them).
    await precompressTree(clientDir);
    timings.precompress = Math.round(performance.now() - m);
    let pages: number;
    if (astroRenders) pages = await countHtml(clientDir);
    else {
      m = performance.now();
      // The new code's renderer, when this thread renders: later content builds in this
      // process use it too.
      const loadRenderer = async () => (renderer = { codeHash, renderer: await loadWarmRenderer(staged.dir) }).renderer;
      // Counted before the pages go in, while the tree holds only Astro's few files.
      const astroPages = await countHtml(clientDir);
      try {
        const files = (await renderPages({ loadRenderer, rendererDir: staged.dir, staged, liveClient: undefined, snapshots: request.snapshots, parts: allParts, title: 'Rendering pages', total: keys.size })).files;
        rendered = files.length;
        pages = astroPages + files.filter((f) => f.file.endsWith('.html')).length;
      } catch (error) {
        // A renderer loaded from the discarded release would import from a folder that is gone.
        if (renderer?.renderer.releaseDir === staged.dir) renderer = undefined;
        await releases.discard(staged);
        throw error;
      }
      timings.render = Math.round(performance.now() - m);
    }
    m = performance.now();
    const seconds = (performance.now() - started) / 1000;
    await releases.publish(staged, { pages, seconds: round(seconds), parts: allParts, codeHash, kind: 'full', rendered }, { pageKeys: Object.fromEntries(keys) });
    timings.publish = Math.round(performance.now() - m);
    m = performance.now();
    await releases.prune();
    timings.prune = Math.round(performance.now() - m);
    return { release: staged.id, kind: 'astro', parts: allParts, pages, rendered, changed: rendered, removed: 0, seconds, dir: staged.dir, timings };
  }

  /**
   * Renders pages of `parts` (all their paths, or `renderOnly`'s dynamic ones and the
   * key-less ones) with a kept renderer into a staged release: each file compared with the
   * live release's (when there is one) and written, with its compressed variants, only when
   * its bytes changed — the rest stay hard links to the live files. A whole part of
   * hundreds of pages renders in `renderThreads` threads.
   */
  async function renderPages(job: {
    /** The renderer, when this thread renders (a targeted build, or a part too small for threads). */
    loadRenderer: () => Promise<WarmRenderer>;
    /** The release whose kept renderer that is (render threads load it from there). */
    rendererDir: string;
    staged: { id: string; dir: string };
    liveClient: string | undefined;
    snapshots: Snapshots;
    parts: string[];
    renderOnly?: ReadonlySet<string>;
    title: string;
    total: number;
  }): Promise<{ files: RenderedPath[]; changed: string[] }> {
    const owned = (p: string) => {
      const owner = ownerOf(deps.sources, p);
      return owner === undefined || job.parts.includes(owner);
    };
    const progress = deps.progress(job.title, job.total);
    const stagedClient = path.join(job.staged.dir, 'client');
    const changed: string[] = [];
    const madeDirs = new Set<string>();
    const keepIfChanged = (f: RenderedFile) => {
      if (writeRendered(job.liveClient, stagedClient, f, madeDirs)) changed.push(f.file);
      progress.tick();
    };
    deps.provide({ snapshots: job.snapshots, release: job.staged.id, ...(job.renderOnly ? { renderOnly: job.renderOnly } : {}) });
    try {
      const threads = deps.renderThreads && !job.renderOnly && job.total >= minPagesForThreads ? deps.renderThreads : undefined;
      if (!threads) {
        const renderOnly = job.renderOnly;
        const files = await (await job.loadRenderer()).render({
          // Dynamic pages: those asked for; pages without parameters of the built parts and the
          // shared ones (home, sitemap) always, as they list what changed.
          select: (p, dynamic) => owned(p) && (!dynamic || !renderOnly || renderOnly.has(p)),
          // Pages without parameters (lists, feeds, the front page) render too: count them.
          onPlanned: (count) => progress.setTotal(count),
          onRendered: keepIfChanged,
        });
        return { files, changed };
      }
      const rendered = await renderInWorkers(
        {
          releaseDir: job.rendererDir,
          release: job.staged.id,
          snapshots: job.snapshots,
          parts: job.parts,
          sources: deps.sources.map((s) => ({ part: s.part, prefixes: s.prefixes })),
          provide: threads.provide,
          liveClient: job.liveClient,
          stagedClient,
        },
        threads.threads,
        {
          planned: (count) => progress.setTotal(count),
          rendered: (n) => {
            for (let i = 0; i < n; i++) progress.tick();
          },
        },
      );
      return { files: rendered.rendered, changed: rendered.changed };
    } catch (error) {
      throw buildFailed('A page could not be rendered', error);
    } finally {
      progress.done();
      deps.provide(undefined);
    }
  }

  async function warmBuild(
    request: BuildRequest,
    current: Release,
    sources: readonly StaticSource<unknown, never>[],
    parts: string[],
    keys: Map<string, string>,
    codeHash: string,
    started: number,
    timings: Record<string, number>,
    lap: (name: string) => void,
  ): Promise<BuildResult> {
    const previousKeys = new Map(Object.entries((await readReleaseFile<Record<string, string>>(current.dir, pagesFile)) ?? {}));
    // Paths of the built parts that disappeared; other parts keep theirs.
    const removedPaths = [...previousKeys.keys()].filter((p) => !keys.has(p) && parts.includes(ownerOf(deps.sources, p) ?? ''));
    const renderOnly = request.targeted ? new Set([...keys].filter(([p, k]) => previousKeys.get(p) !== k).map(([p]) => p)) : undefined;
    // A targeted build renders the pages without parameters (lists, feeds) only of the parts
    // with a changed key: a part whose keys all match (its key-less pages have keys too, for
    // what no other key covers) would render the same bytes.
    const renderParts = renderOnly ? parts.filter((part) => [...renderOnly, ...removedPaths].some((p) => ownerOf(deps.sources, p) === part)) : parts;
    if (renderOnly && renderOnly.size === 0 && removedPaths.length === 0) {
      deps.info(`Nothing to rebuild: every page of release ${current.id} is up to date.`);
      return { release: current.id, kind: 'unchanged', parts, pages: current.pages, rendered: 0, changed: 0, removed: 0, seconds: (performance.now() - started) / 1000, dir: current.dir, timings };
    }
    const staged = await releases.stage();
    const owned = (p: string) => {
      const owner = ownerOf(deps.sources, p);
      return owner === undefined || renderParts.includes(owner);
    };
    const expected = renderOnly ? renderOnly.size : [...keys.keys()].filter(owned).length;
    deps.info(
      renderOnly
        ? `Re-rendering ${renderParts.join(', ') || 'shared pages'}: ${renderOnly.size} page(s) changed, ${removedPaths.length} removed (of ${keys.size}).`
        : `Rendering ${sources.map((s) => `${s.part} (${s.describe(request.snapshots[s.part])})`).join(', ')}`,
    );
    const liveClient = path.join(current.dir, 'client');
    const clientDir = path.join(staged.dir, 'client');
    let files: RenderedPath[];
    let changed: string[];
    try {
      ({ files, changed } = await renderPages({
        loadRenderer: () => rendererFor(current),
        rendererDir: current.dir,
        staged,
        liveClient,
        snapshots: request.snapshots,
        parts: renderParts,
        ...(renderOnly ? { renderOnly } : {}),
        title: renderOnly ? 'Rendering changed pages' : 'Rendering pages',
        total: expected,
      }));
    } catch (error) {
      await releases.discard(staged);
      throw error;
    }
    lap('render');
    const renderedFiles = new Set(files.map((f) => f.file));
    const removedFiles = removedPaths.map((p) => pageFile(p)).filter((f) => !renderedFiles.has(f));
    await request.onPatch?.({ id: staged.id, dir: staged.dir, base: current.id, written: changed.map((f) => path.join(clientDir, f)), removed: removedFiles });
    const skip = new Set<string>();
    for (const f of [...changed, ...removedFiles]) for (const v of withVariants(f)) skip.add(`client/${v}`);
    await linkTree(current.dir, staged.dir, skip);
    lap('link');
    const pages = current.pages + (await countNew(liveClient, changed)) - (await countExisting(liveClient, removedFiles));
    // Other parts keep their keys; the built parts get theirs.
    const nextKeys: Record<string, string> = {};
    for (const [p, k] of previousKeys) if (!parts.includes(ownerOf(deps.sources, p) ?? '')) nextKeys[p] = k;
    for (const [p, k] of keys) nextKeys[p] = k;
    const seconds = (performance.now() - started) / 1000;
    await releases.publish(staged, { pages, seconds: round(seconds), parts, codeHash, kind: 'targeted', rendered: files.length }, { pageKeys: nextKeys });
    lap('publish');
    await releases.prune();
    lap('prune');
    return { release: staged.id, kind: 'warm', parts: renderParts, pages, rendered: files.length, changed: changed.length, removed: removedFiles.length, seconds, dir: staged.dir, timings };
  }
}

/** A build that stopped: the live release was left as it was. */
function buildFailed(what: string, cause: unknown): RoseError {
  return new RoseError({
    code: 'build-failed',
    title: 'Build failed',
    message: `${what}: ${(cause as Error).message}`,
    hint: 'Run with --verbose for details. The live release was not touched.',
    cause,
  });
}

/** `astro build` of the code and assets only (no page rendered), in a child process (see astro-bundle.child.ts). */
function buildBundleInChild(options: { root: string; outDir: string; cacheDir: string; site: string; logLevel: 'info' | 'warn' }): Promise<void> {
  return new Promise((resolve, reject) => {
    // No inherited Node flags (a profiler or a preload of the parent's is not the child's).
    const child = fork(fileURLToPath(new URL('./astro-bundle.child.ts', import.meta.url)), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: { type: 'done' } | { type: 'error'; message: string; stack?: string } | undefined;
    child.on('message', (msg: typeof answer) => {
      answer = msg;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (answer?.type === 'done' && code === 0) resolve();
      else if (answer?.type === 'error') reject(Object.assign(new Error(answer.message), { stack: answer.stack }));
      else reject(new Error(`The Astro build process ended (${signal ?? `exit code ${code}`}) before finishing`));
    });
    child.send(options);
  });
}

/** The file of a page path (`/blog/x/` → `blog/x/index.html`); a path without a trailing slash is a file (`/blog/images/a.avif`). */
function pageFile(pathname: string): string {
  if (!pathname.endsWith('/')) return pathname.replace(/^\/+/, '');
  const clean = pathname.replace(/^\/+|\/+$/g, '');
  return clean ? `${clean}/index.html` : 'index.html';
}

async function countNew(liveClient: string, files: readonly string[]): Promise<number> {
  let n = 0;
  for (const f of files) if (f.endsWith('.html') && !(await exists(path.join(liveClient, f)))) n++;
  return n;
}
async function countExisting(liveClient: string, files: readonly string[]): Promise<number> {
  let n = 0;
  for (const f of files) if (f.endsWith('.html') && (await exists(path.join(liveClient, f)))) n++;
  return n;
}
const exists = (p: string) => fs.access(p).then(() => true, () => false);

async function countHtml(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) if (entry.isFile() && entry.name.endsWith('.html')) n++;
  return n;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

