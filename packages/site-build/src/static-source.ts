import { resolvePartNames } from '@rose/core';

/**
 * A part of the site with prerendered pages (blog now; market and events next) as the build
 * pipeline sees it: which paths it owns, how to read everything its pages show (its
 * snapshot), and a key per page so a rebuild re-renders only pages whose data changed.
 *
 * @example
 * const blog: StaticSource<BlogSnapshot> = {
 *   part: 'blog',
 *   prefixes: ['/blog/'],
 *   read: (db) => loadBlogSnapshot(db),
 *   pageKeys: (s) => blogPageKeys(s, 10),
 * };
 */
export interface StaticSource<S = unknown, D = never> {
  readonly part: string;
  /** Site path prefixes of the part's pages (`/blog/`). Paths outside every part are shared. */
  readonly prefixes: readonly string[];
  /** Reads everything the part's pages show, in one consistent read. */
  read(db: D): Promise<S>;
  /**
   * The snapshot after the given items changed (blog: slugs), reading only those: what a
   * webhook-driven rebuild uses on top of the snapshot of the live release.
   */
  refresh?(db: D, previous: S, changed: readonly string[], versions?: unknown): Promise<S>;
  /**
   * What changed since `previous` was read, for `refresh`: the items, or `all` when the
   * snapshot must be read again; `versions` (what the rows looked like when asked) goes to
   * `refresh` so it need not ask again. Without it, a rebuild that was not told what changed
   * reads the part again.
   */
  changes?(db: D, previous: S): Promise<{ items: string[]; all: boolean; versions?: unknown }>;
  /**
   * A key per page with a dynamic path: same key and same code → same HTML. Pages without
   * parameters (a part's index, its feeds) are rendered on every build of the part.
   */
  pageKeys(snapshot: S): Map<string, string>;
  /** One line for the build log ("37 posts, 4 pages, 10 tags"). */
  describe(snapshot: S): string;
}

/** Everything the pages read while rendering: the snapshot of each part, by part name. */
export type Snapshots = Readonly<Record<string, unknown>>;

/** The part that owns a site path, or undefined for shared pages (`/`, sitemap, 404). */
export function ownerOf(sources: readonly StaticSource<unknown, never>[], pathname: string): string | undefined {
  for (const s of sources) if (s.prefixes.some((p) => pathname.startsWith(p) || `${pathname}/` === p)) return s.part;
  return undefined;
}

/** Checks `rose build <parts>` against the registered sources; `[]` means all of them. */
export function resolveParts(sources: readonly StaticSource<unknown, never>[], requested: readonly string[]): string[] {
  return resolvePartNames(sources.map((s) => s.part), requested);
}
