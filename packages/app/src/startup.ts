import type { ensureAstroKey as ensureAstroKeyNow } from './astro-key.ts';

/*
 * What a process needs before it decides to load the rest of the app, imported as
 * `@rose/app/startup`: the CLI's help texts and its start-up use it, so `rose --help` and
 * `rose db status` load neither the provider, Astro nor the domain packages. Keep it free
 * of them (cli/src/main.test.ts checks what `rose --help` loads).
 */

/** Names of the parts with prerendered pages (for help texts; `staticSources` has the rest). */
export const staticPartNames = ['blog', 'market'] as const;

/** `ensureAstroKey` (astro-key.ts), loaded on first call: it validates with @rose/config, which help texts do without. */
export const ensureAstroKey: typeof ensureAstroKeyNow = async (dataDir, env) => (await import('./astro-key.ts')).ensureAstroKey(dataDir, env);
