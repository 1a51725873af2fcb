import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rendererFolder, rendererManifestFile, type RendererManifest } from './renderer-capture.ts';

/** One path the renderer rendered, and its file relative to the release's `client/` folder. */
export interface RenderedPath {
  /** Site path it answers (`/blog/hello/`, `/blog/rss.xml`). */
  pathname: string;
  /** File under `client/` (`blog/hello/index.html`). */
  file: string;
}
/** A rendered file with its bytes. */
export interface RenderedFile extends RenderedPath {
  body: Buffer;
}

export interface WarmRenderer {
  /** The release whose code this renderer runs. */
  readonly releaseDir: string;
  /**
   * Renders every static path the pages' `getStaticPaths` return for the data provided now
   * (plus routes without parameters), optionally only those `select` keeps. Pages get their
   * data the same way as in `astro build` (the site data provided to this process).
   */
  render(opts?: {
    select?: (pathname: string, dynamic: boolean) => boolean;
    concurrency?: number;
    /** This renderer's share when several (worker threads) split one build: every `of`-th path from `index`. */
    share?: { index: number; of: number };
    /** Told how many paths it is about to render, before the first one. */
    onPlanned?: (count: number) => void;
    /** Gets each file's bytes as it is rendered (awaited: a slow writer holds the renderer back). */
    onRendered?: (file: RenderedFile) => void | Promise<void>;
  }): Promise<RenderedPath[]>;
}

interface RouteDataLike {
  route: string;
  component: string;
  type: string;
  pathname?: string;
  prerender: boolean;
  params: string[];
}
interface PrerenderApp {
  manifest: { routes: { routeData: RouteDataLike }[]; pageMap?: Map<string, () => Promise<{ page?: () => Promise<unknown> }>>; site?: string; compressHTML?: boolean | string };
  routeCache: { clearAll(): void };
  setInternals(internals: unknown): void;
  setOptions(options: unknown): void;
  render(request: Request, opts: { routeData: RouteDataLike }): Promise<Response>;
}
interface StaticPathsCtor {
  new (app: PrerenderApp): { getAll(): Promise<{ pathname: string; route: RouteDataLike }[]> };
}

const statusPages = new Set(['/404', '/500']);

/** Whether a release carries the bundle a warm renderer needs (built with this code). */
export async function hasWarmRenderer(releaseDir: string): Promise<boolean> {
  return fs
    .access(path.join(releaseDir, 'server', rendererFolder, rendererManifestFile))
    .then(() => true)
    .catch(() => false);
}

/**
 * Loads the prerender bundle kept in a release (see `keepPrerenderBundle`) so single pages
 * can be rendered again with new data, in milliseconds, by the same code that built them.
 */
export async function loadWarmRenderer(releaseDir: string, opts: { onWarning?: (message: string) => void } = {}): Promise<WarmRenderer> {
  const dir = path.join(releaseDir, 'server', rendererFolder);
  const manifest = JSON.parse(await fs.readFile(path.join(dir, rendererManifestFile), 'utf8')) as RendererManifest;
  if (manifest.version !== 1) throw new Error(`Unsupported renderer manifest version ${String(manifest.version)} in ${dir}`);
  const entry = (await import(pathToFileURL(path.join(dir, manifest.entry)).href)) as { app: PrerenderApp };
  const app = entry.app;
  // Every page module now, not on first use: the renderer outlives its release folder.
  for (const load of app.manifest.pageMap?.values() ?? []) await (await load()).page?.();
  // The slice of Astro's build state the prerender app reads while rendering.
  const entrySpecifierToBundleMap = new Map<string, string>();
  if (manifest.pageScript) entrySpecifierToBundleMap.set('astro:scripts/page.js', manifest.pageScript);
  app.setInternals({ pagesByKeys: new Map(Object.entries(manifest.pages)), entrySpecifierToBundleMap });
  const destination = {
    write(event: { level: string; message: string }) {
      if (event.level === 'warn' || event.level === 'error') opts.onWarning?.(event.message);
      return true;
    },
  };
  app.setOptions({ logger: { options: { destination, level: 'warn' } }, settings: { scripts: manifest.scripts } });
  const astroDir = path.dirname(createRequire(import.meta.url).resolve('astro/package.json'));
  const { StaticPaths } = (await import(pathToFileURL(path.join(astroDir, 'dist/runtime/prerender/static-paths.js')).href)) as { StaticPaths: StaticPathsCtor };
  const { redirectTemplate } = (await import(pathToFileURL(path.join(astroDir, 'dist/core/routing/3xx.js')).href)) as {
    redirectTemplate(o: { status: number; absoluteLocation: URL | string; relativeLocation: string; from: string }): string;
  };
  const origin = 'http://localhost';

  async function renderOne(pathname: string, route: RouteDataLike): Promise<RenderedFile | undefined> {
    const isEndpoint = route.type === 'endpoint';
    const url = new URL(isEndpoint || pathname === '/' ? pathname : `${pathname.replace(/\/$/, '')}/`, origin);
    const response = await app.render(new Request(url), { routeData: route });
    let body: Buffer;
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location') ?? '/';
      // As `astro build` writes it: the canonical link absolute on the site, no line breaks.
      const absolute = app.manifest.site ? new URL(location, app.manifest.site) : location;
      const html = redirectTemplate({ status: response.status, absoluteLocation: absolute, relativeLocation: location, from: url.pathname });
      body = Buffer.from(app.manifest.compressHTML ? html.replaceAll('\n', '') : html);
    } else {
      if (!response.body) return undefined;
      body = Buffer.from(await response.arrayBuffer());
    }
    return { pathname, file: outFile(pathname, route), body };
  }

  return {
    releaseDir,
    async render(renderOpts = {}) {
      // getStaticPaths results are cached per route for the life of the bundle; the data
      // changed since the last call, so ask again.
      app.routeCache.clearAll();
      const all = await new StaticPaths(app).getAll();
      const seen = new Set<string>();
      const todo = all
        // Site paths as links have them: pages end in a slash (directory format).
        .map(({ pathname, route }) => ({ pathname: route.type === 'endpoint' || statusPages.has(pathname) ? pathname : pathname.replace(/\/?$/, '/'), route }))
        .filter(({ pathname, route }) => {
          if (seen.has(pathname) || route.component.startsWith('node_modules/')) return false;
          seen.add(pathname);
          return renderOpts.select ? renderOpts.select(pathname, route.params.length > 0) : true;
        });
      renderOpts.onPlanned?.(todo.length);
      const share = renderOpts.share;
      if (share) todo.splice(0, todo.length, ...todo.filter((_, i) => i % share.of === share.index));
      const out: RenderedPath[] = [];
      let next = 0;
      let failure: { error: unknown } | undefined;
      const lanes = Math.max(1, renderOpts.concurrency ?? 8);
      // Once one path fails, the other lanes stop too before the error is thrown: the caller
      // discards what was written, which must not race lanes still writing.
      await Promise.all(
        Array.from({ length: Math.min(lanes, todo.length) }, async () => {
          while (!failure && next < todo.length) {
            const item = todo[next++]!;
            try {
              const file = await renderOne(item.pathname, item.route);
              if (file) {
                out.push({ pathname: file.pathname, file: file.file });
                await renderOpts.onRendered?.(file);
              }
            } catch (error) {
              failure ??= { error };
            }
          }
        }),
      );
      if (failure) throw failure.error;
      return out;
    },
  };
}

/** Same layout as `astro build` with `build.format: 'directory'`. */
function outFile(pathname: string, route: RouteDataLike): string {
  const clean = pathname.replace(/^\/+/, '');
  if (route.type === 'endpoint') return clean;
  const trimmed = pathname.replace(/\/$/, '');
  if (statusPages.has(trimmed)) return `${trimmed.slice(1)}.html`;
  return clean === '' ? 'index.html' : `${clean.replace(/\/$/, '')}/index.html`;
}
