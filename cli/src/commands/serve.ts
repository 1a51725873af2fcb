import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { provideServices } from '@rose/app';
import { RoseError } from '@rose/core';
import type { CommandContext } from '../context.ts';

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
 * Serves the built site: static files straight from disk, on-demand routes and server
 * islands through Astro's Node handler, in one process. Stops cleanly on SIGINT/SIGTERM.
 */
export async function serveSite(ctx: CommandContext, opts: ServeOptions): Promise<RunningServer> {
  const entry = path.join(ctx.config.distDir, 'server', 'entry.mjs');
  if (!existsSync(entry)) {
    throw new RoseError({
      code: 'not-built',
      title: 'Nothing to serve',
      message: `There is no build in ${ctx.config.distDir} (missing server/entry.mjs).`,
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
  const mod = (await import(pathToFileURL(entry).href)) as { handler: http.RequestListener };

  const server = http.createServer(mod.handler);
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
    await services.close();
    throw error;
  });

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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // In-flight requests get a moment to finish; then connections are cut.
      const timer = setTimeout(() => server.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(timer);
      provideServices(undefined);
      await services.close();
      resolveStopped();
    })();
    return stopping;
  };
  return { url, stopped, stop };
}
