import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Services, CreateServicesOptions } from '@rose/app';
import { loadConfig, withListenOrigin, type Config } from '@rose/config';
import type { Output } from './output.ts';

/** The project folder: where astro.config.ts, migrations/ and content/ live. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CommandContext {
  config: Config;
  out: Output;
  /** Opens the database and cache; the command closes them with `services.close()`. */
  openServices(opts?: CreateServicesOptions): Promise<Services>;
  /** Runs `body` with open services and closes them after, whatever happens. */
  withServices<T>(body: (services: Services) => Promise<T>, opts?: CreateServicesOptions): Promise<T>;
  /** The context of a server listening on `origin`: without ROSE_SITE_URL, the site's origin follows it. */
  listeningOn(origin: string): CommandContext;
}

export function createContext(out: Output, env: Record<string, string | undefined> = process.env): CommandContext {
  return contextFor(loadConfig(env, { root: env.ROSE_ROOT ?? projectRoot }), out);
}

function contextFor(config: Config, out: Output): CommandContext {
  // Loaded here, not at the top: commands that need no services start without the app's weight.
  const openServices = async (opts?: CreateServicesOptions) => (await import('@rose/app/server')).createServices(config, opts);
  return {
    config,
    out,
    openServices,
    async withServices(body, opts) {
      const services = await openServices(opts);
      try {
        return await body(services);
      } finally {
        await services.close();
      }
    },
    listeningOn: (origin) => contextFor(withListenOrigin(config, origin), out),
  };
}
