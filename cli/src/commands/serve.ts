import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { provideServices } from '@rose/app';
import { answerInFront, createSiteBuild } from '@rose/app/server';
import { isTrustedProxy } from '@rose/config';
import { RoseError } from '@rose/core';
import { createRequestObserver } from '@rose/observability';
import { createReleaseStore, type Release } from '@rose/releases';
import type { ReleasePatch } from '@rose/site-build';
import { createStaticHandler, patchStaticIndex, prepareDynamicResponse } from '@rose/static-files';
import type { CommandContext } from '../context.ts';
import { settleListenAddress } from '../listen-address.ts';

export interface ServeOptions {
  port: number;
  host: string;
}

export interface RunningServer {
  url: string;
  /** Resolves once the server has stopped and connections are closed. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Serves the live release: static files from an index of the release (precompressed
 * variants, ETags, ranges; see @rose/static-files), on-demand routes and server islands
 * through Astro's Node handler (compressed on the fly), in one process. Follows `<dist>/current`: when a
 * build or rollback switches it, new requests go to the new release without a restart.
 * Stops cleanly on SIGINT/SIGTERM.
 */
export async function serveSite(given: CommandContext, requested: ServeOptions & { followIntervalMs?: number; worker?: boolean }): Promise<RunningServer> {
  const { ctx, opts } = await settleListenAddress(given, requested);
  const releases = createReleaseStore({ distDir: ctx.config.distDir });
  const first = await releases.current();
  if (!first) {
    throw new RoseError({
      code: 'not-built',
      title: 'Nothing to serve',
      message: `There is no release in ${ctx.config.distDir} yet.`,
      hint: 'Run `rose build` first.',
    });
  }
  const services = await ctx.openServices();
  await services.migrations.assertCurrent().catch(async (error) => {
    await services.close();
    throw error;
  });
  provideServices(services);
  process.env.ASTRO_NODE_AUTOSTART = 'disabled';
  process.env.ASTRO_NODE_LOGGING = 'disabled';
  // Each release: its static files (indexed once, answered before anything else) and Astro's handler.
  const load = async (release: Release) => ({
    id: release.id,
    dir: release.dir,
    build: { seconds: release.seconds, kind: release.kind ?? 'full' },
    statics: await createStaticHandler({
      root: path.join(release.dir, 'client'),
      release: path.basename(release.dir),
      onError: (error, file) => services.logger.error({ err: error, file }, 'could not read a static file'),
    }),
    handler: ((await import(pathToFileURL(path.join(release.dir, 'server', 'entry.mjs')).href)) as { handler: http.RequestListener }).handler,
  });
  // `partial`: serving a rebuild's pages on top of the previous release's files while the
  // rest of its release is still being linked; the complete release replaces it once live.
  let live: Omit<Awaited<ReturnType<typeof load>>, 'build'> & { build?: { seconds: number; kind: string }; partial?: boolean; base?: string } = await load(first);
  // /api/ready and the metrics report what this process serves, not what `current` says.
  services.observability.setServedRelease(() => ({ id: live.id, dir: live.dir, ...(live.build ? { buildSeconds: live.build.seconds, buildKind: live.build.kind } : {}) }));
  let patches = 0;
  const servePatch = async (patch: ReleasePatch) => {
    const root = path.join(patch.dir, 'client');
    const written = patch.written.map((abs) => path.relative(root, abs).split(path.sep).join('/'));
    const index = await patchStaticIndex(live.statics.index, root, { written, removed: patch.removed });
    const statics = await createStaticHandler({ root, index, release: patch.id, onError: (error, file) => services.logger.error({ err: error, file }, 'could not read a static file') });
    patches++;
    live = { ...live, id: patch.id, dir: patch.dir, base: patch.base, build: undefined, partial: true, statics };
    services.logger.info({ release: patch.id, written: written.length, removed: patch.removed.length }, 'serving the rebuilt pages');
  };
  // A rebuild that failed after its pages were served: back to what `current` says, now.
  const abandonPatch = async (patch: ReleasePatch) => {
    if (!live.partial || live.id !== patch.id) return;
    const current = await releases.current();
    if (!current) return;
    live = await load(current);
    services.logger.warn({ release: current.id, abandoned: patch.id }, 'the rebuild failed after its pages were served; serving the live release again');
  };

  // Things answered in front of the site (the OpenID provider under /auth, …), in order.
  await services.oauth.provider();
  // Request ids (X-Request-Id from a trusted proxy, or made here), one log line and the
  // latency metrics per request; static files only count (and log at debug).
  const observe = createRequestObserver({ logger: services.logger, metrics: services.observability.metrics, isTrustedProxy: (address) => isTrustedProxy(ctx.config.trustedProxies, address) });
  const server = http.createServer((req, res) => {
    const started = performance.now();
    if (live.statics.handle(req, res)) return observe.served(req, res, started);
    observe.dynamic(req, res, () => {
      prepareDynamicResponse(req, res);
      // Node's fetch Request refuses TRACE, so Astro's handler would answer 500 with a stack
      // in the log; nothing here supports it.
      if (req.method === 'TRACE') {
        res.writeHead(405, 'Method Not Allowed', { Allow: 'GET, HEAD, POST, OPTIONS', 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end('TRACE is not allowed here.\n');
        return;
      }
      answerInFront(services.frontHandlers, req, res).then(
        (handled) => {
          if (!handled) live.handler(req, res);
        },
        (error: unknown) => {
          services.logger.error({ err: error, path: req.url?.split('?')[0] }, 'a handler in front of the site failed');
          if (!res.headersSent) {
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end('Internal error');
          }
        },
      );
    });
  });
  // Follow `current`: a switch is picked up within a second, and at once after a rebuild in
  // this process. Each release's server bundle is a separate module graph; the old one is
  // dropped once no request uses it.
  const followCurrent = async (): Promise<void> => {
    try {
      // A key rotated with `rose oauth keys rotate` is picked up without a restart.
      await services.oauth.reloadIfKeysChanged().catch((error: unknown) => services.logger.error({ err: error }, 'could not load the new OpenID signing key; still signing with the previous one'));
      const seen = patches;
      const current = await releases.current();
      // A rebuild's pages stay served on top of the release they were rendered from until its build switches `current`.
      if (current && !(live.partial && current.id === live.base) && (current.id !== live.id || live.partial)) {
        const loaded = await load(current);
        // A rebuild served newer pages while this release loaded: `current` as read is older.
        if (patches === seen) {
          live = loaded;
          services.logger.info({ release: current.id }, 'now serving release');
        }
      }
    } catch (error) {
      services.logger.error({ err: error }, 'could not switch to the new release; still serving the previous one');
    }
  };
  // One look at a time; a look asked for while one runs goes after it (it may have read `current` too early).
  let looks: Promise<void> = Promise.resolve();
  let queuedLooks = 0;
  const followNow = (): Promise<void> => {
    queuedLooks++;
    looks = looks.then(() => {
      queuedLooks--;
      return followCurrent();
    });
    return looks;
  };
  const follow = setInterval(() => {
    if (queuedLooks === 0) void followNow();
  }, opts.followIntervalMs ?? 1000);
  follow.unref();
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new RoseError({
          code: 'listen-failed',
          title: 'Cannot start the server',
          message:
            error.code === 'EADDRINUSE'
              ? `Port ${opts.port} on ${opts.host} is already in use.`
              : `Could not listen on ${opts.host}:${opts.port}: ${error.message}`,
          hint: 'Choose another port with --port (or PORT), or stop the other process.',
          cause: error,
        }),
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  }).catch(async (error) => {
    clearInterval(follow);
    await services.close();
    throw error;
  });

  // The outbox worker: webhook changes become rebuilds without a second process (the
  // embedded database allows only one).
  const worker = opts.worker === false ? undefined : services.jobs.startWorker({
          siteBuild: createSiteBuild(ctx.config, { info: (m) => services.logger.info(m), progress: () => ({ tick() {}, setTotal() {}, done() {} }), verbose: false }, { metrics: services.observability.metrics }),
          onPatch: servePatch,
          onPatchFailed: abandonPatch,
          onBuilt: followNow,
          warmUp: true,
        });
  const workerDone = worker?.run();

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${shownHost}:${port}/`;

  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(follow);
      await worker?.stop();
      await workerDone;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // In-flight requests get a moment to finish; then connections are cut.
      const timer = setTimeout(() => server.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(timer);
      services.observability.setServedRelease(undefined);
      provideServices(undefined);
      await services.close();
      resolveStopped();
    })();
    return stopping;
  };
  return { url, stopped, stop };
}
