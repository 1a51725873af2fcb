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
  /** The context of a server listening on `origin`: without ROSE_SITE_URL, the site's origin follows it. */
  listeningOn(origin: string): CommandContext;
}

export function createContext(out: Output, env: Record<string, string | undefined> = process.env): CommandContext {
  return contextFor(loadConfig(env, { root: env.ROSE_ROOT ?? projectRoot }), out);
}

function contextFor(config: Config, out: Output): CommandContext {
  return {
    config,
    out,
    // Loaded here, not at the top: commands that need no services start without the app's weight.
    openServices: async (opts) => (await import('@rose/app')).createServices(config, opts),
    listeningOn: (origin) => contextFor(withListenOrigin(config, origin), out),
  };
}
