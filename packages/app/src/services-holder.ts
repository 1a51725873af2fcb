import { loadConfig } from '@rose/config';
import type { Services } from './services.ts';

const KEY = Symbol.for('rose.services');
type Holder = { [KEY]?: Promise<Services> | undefined };

/**
 * The services of this process. The CLI provides them (`provideServices`) before it builds
 * or serves; a server started without the CLI (e.g. `node dist/server/entry.mjs`) creates
 * them from the environment on first use. On globalThis because Astro bundles its own copy
 * of this module. Their module graph (database drivers, the OpenID provider, mail, …) loads
 * only then: a render thread of a build, given its data, never pays for it.
 */
export function getServices(): Promise<Services> {
  const holder = globalThis as Holder;
  holder[KEY] ??= import('./services.ts').then(({ createServices }) => createServices(loadConfig(process.env, { root: process.env.ROSE_ROOT ?? process.cwd() })));
  return holder[KEY];
}

export function provideServices(services: Promise<Services> | Services | undefined): void {
  (globalThis as Holder)[KEY] = services === undefined ? undefined : Promise.resolve(services);
}
