import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration, AstroPrerenderer } from 'astro';

/** Where a release keeps the prerender bundle the warm renderer loads (under `server/`). */
export const rendererFolder = 'renderer';
/** The file beside the bundle that says how to load it. */
export const rendererManifestFile = 'renderer.json';

/**
 * What the warm renderer needs besides the bundle: the parts of Astro's build state that the
 * prerender app reads while rendering (styles per page, the page script, inline head scripts).
 */
export interface RendererManifest {
  version: 1;
  /** The prerender entry, relative to the renderer folder. */
  entry: string;
  /** Page data by Astro's page key (`route&component`): only what rendering reads. */
  pages: Record<string, { styles: unknown[] }>;
  /** Built path of the page-stage script bundle, when there is one. */
  pageScript?: string;
  /** Scripts injected by integrations (stage + content), as Astro's settings hold them. */
  scripts: { stage: string; content: string }[];
}

interface BuildInternalsLike {
  prerenderEntryFileName?: string;
  pagesByKeys: Map<string, { styles: unknown[] }>;
  entrySpecifierToBundleMap: Map<string, string>;
}
interface BuildAppLike {
  setInternals(internals: BuildInternalsLike): void;
  getSettings(): { scripts: { stage: string; content: string }[]; config: { build: { server: URL } } };
}

const pageScriptId = 'astro:scripts/page.js';

// On globalThis: Vite loads the Astro config (and so this module) as a copy of its own.
const plannedKey = Symbol.for('rose.astro-planned-paths');
type PlannedHolder = { [plannedKey]?: ((count: number) => void) | undefined };

// Also on globalThis: whether the next Astro build in this process renders the pages itself.
const bundleOnlyKey = Symbol.for('rose.astro-bundle-only');
type BundleOnlyHolder = { [bundleOnlyKey]?: boolean };

/**
 * Makes the next Astro builds in this process build the site's code and assets but render no
 * page (`true`): the caller renders them with the bundle kept (`loadWarmRenderer`), in as
 * many threads as it likes. `false` (the default) lets Astro render every page itself.
 */
export function astroBuildsBundleOnly(bundleOnly: boolean): void {
  (globalThis as BundleOnlyHolder)[bundleOnlyKey] = bundleOnly;
}

/** Told how many paths an Astro build in this process renders, once it knows (a progress total). */
export function onAstroPlanned(listener: ((count: number) => void) | undefined): void {
  (globalThis as PlannedHolder)[plannedKey] = listener;
}

/**
 * An Astro integration that keeps the prerender bundle of every `astro build` (Astro deletes
 * it once the static pages are written) together with the build state it needs, in
 * `server/renderer/` of the output. `loadWarmRenderer` loads it later to render pages with
 * new data, without running Vite again. Wraps Astro's default prerenderer, so the build
 * itself renders exactly as before — or renders nothing (`astroBuildsBundleOnly`).
 */
export function keepPrerenderBundle(): AstroIntegration {
  let install: ((p: (base: AstroPrerenderer) => AstroPrerenderer) => void) | undefined;
  return {
    name: 'rose-keep-prerender-bundle',
    hooks: {
      // Installed only once the server bundle is built: a prerenderer set at build start
      // makes Astro expect the adapter to bring its own prerender entry.
      'astro:build:start': ({ setPrerenderer }) => {
        install = setPrerenderer;
      },
      'astro:build:ssr': () => {
        install?.((base: AstroPrerenderer) => {
          let captured: { internals: BuildInternalsLike; app: BuildAppLike } | undefined;
          const prerenderer: AstroPrerenderer = {
            ...base,
            name: 'rose:keep-bundle',
            async getStaticPaths() {
              if ((globalThis as BundleOnlyHolder)[bundleOnlyKey]) return [];
              const paths = await base.getStaticPaths();
              // Astro renders each path once (`/a` and `/a/` are one).
              (globalThis as PlannedHolder)[plannedKey]?.(new Set(paths.map((p) => p.pathname.replace(/\/$/, ''))).size);
              return paths;
            },
            async setup() {
              await base.setup?.();
              // The default prerenderer hands Astro's build state to its app and keeps no
              // other reference; catch it by running setup once more (the entry module is
              // cached, so this only repeats the setInternals/setOptions calls).
              const app = (base as AstroPrerenderer & { app: BuildAppLike }).app;
              const proto = Object.getPrototypeOf(app) as BuildAppLike;
              const original = proto.setInternals;
              proto.setInternals = function (this: BuildAppLike, internals: BuildInternalsLike) {
                captured = { internals, app };
                return original.call(this, internals);
              };
              try {
                await base.setup?.();
              } finally {
                proto.setInternals = original;
              }
            },
            async teardown() {
              await base.teardown?.();
              if (!captured) throw new Error('rose: the prerender bundle could not be kept (Astro build state not found)');
              const { internals, app } = captured;
              const settings = app.getSettings();
              const serverDir = fileURLToPath(settings.config.build.server);
              const bundleDir = path.join(serverDir, '.prerender');
              const keepDir = path.join(serverDir, rendererFolder);
              const manifest: RendererManifest = {
                version: 1,
                entry: internals.prerenderEntryFileName!,
                pages: Object.fromEntries([...internals.pagesByKeys].map(([k, v]) => [k, { styles: v.styles }])),
                scripts: settings.scripts.filter((s) => s.stage === 'head-inline' || s.stage === 'page').map((s) => ({ stage: s.stage, content: s.content })),
              };
              const pageScript = internals.entrySpecifierToBundleMap.get(pageScriptId);
              if (pageScript) manifest.pageScript = pageScript;
              await fs.rm(keepDir, { recursive: true, force: true });
              await fs.rename(bundleDir, keepDir);
              await fs.writeFile(path.join(keepDir, rendererManifestFile), JSON.stringify(manifest));
            },
          };
          return prerenderer;
        });
      },
    },
  };
}
