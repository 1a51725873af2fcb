/**
 * A bridge between `rose build` and the pages Astro renders in the same process: the CLI
 * installs a reporter, the site's middleware calls `reportPageRendered` for each prerendered
 * page. Kept on globalThis because Astro bundles its own copy of this module.
 */
const KEY = Symbol.for('rose.build-progress');

export interface BuildProgressReporter {
  pageRendered(pathname: string): void;
}

type Holder = { [KEY]?: BuildProgressReporter | undefined };

export function setBuildProgressReporter(reporter: BuildProgressReporter | undefined): void {
  (globalThis as Holder)[KEY] = reporter;
}

export function reportPageRendered(pathname: string): void {
  (globalThis as Holder)[KEY]?.pageRendered(pathname);
}
