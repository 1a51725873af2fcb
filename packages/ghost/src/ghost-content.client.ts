import { z } from 'zod';
import { ConfigError } from '@rose/core';
import { GhostApiError } from './ghost-api.error.ts';
import { createTransport, endpointOf, parseAnswer, send, siteLabel, type GhostTransport } from './ghost-http.ts';
import {
  ghostAuthorSchema,
  ghostItemStampSchema,
  ghostPaginationSchema,
  ghostPostSchema,
  ghostSettingsSchema,
  ghostTagSchema,
  type GhostAuthor,
  type GhostItemStamp,
  type GhostPagination,
  type GhostPage,
  type GhostPost,
  type GhostSettings,
  type GhostTag,
} from './ghost.types.ts';

export interface GhostContentClientOptions {
  /** The site address (GHOST_URL), e.g. `https://news.coop.example`; may include a subdirectory. */
  readonly url: string;
  /** The Content API key (GHOST_CONTENT_KEY). */
  readonly key: string;
  readonly fetch?: typeof fetch;
  /** Per attempt, body included. Default 10 000. */
  readonly timeoutMs?: number;
  /** Extra attempts after a network error, timeout, 5xx or 429. Default 3. */
  readonly retries?: number;
  /** First backoff; doubles on each retry, less a random share (jitter). Default 250. */
  readonly backoffMs?: number;
  /** For one call, attempts and waits included (a paged listing has one per page). Default 60 000. */
  readonly deadlineMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source for retry waits, [0, 1) like Math.random; tests pin it. */
  readonly random?: () => number;
}

export interface GhostContentClient {
  /**
   * Published posts, one batch (up to 100) per API page, with tags, authors and html.
   * `updatedSince` keeps those updated at or after that second. Batches may overlap when posts
   * are published while paging: upsert by id.
   */
  posts(opts?: { updatedSince?: Date }): AsyncGenerator<GhostPost[], void, undefined>;
  /** Published pages, as `posts`. */
  pages(opts?: { updatedSince?: Date }): AsyncGenerator<GhostPage[], void, undefined>;
  /** The published posts among `ids` (24-hex Ghost ids); a missing one is unpublished or deleted. */
  postsByIds(ids: string[]): Promise<GhostPost[]>;
  pagesByIds(ids: string[]): Promise<GhostPage[]>;
  /**
   * Id, updated_at, tags and authors of every published post: what is missing here was
   * unpublished or deleted, and links that differ were changed without moving updated_at.
   */
  postIds(): Promise<GhostItemStamp[]>;
  pageIds(): Promise<GhostItemStamp[]>;
  /** Every public tag Ghost lists (tags without published posts are left out by Ghost). */
  tags(): Promise<GhostTag[]>;
  authors(): Promise<GhostAuthor[]>;
  settings(): Promise<GhostSettings>;
}

/** Ghost 6 serves at most 100 items per page (`limit=all` was removed). */
const pageSize = '100';
const contentRoot = 'ghost/api/content/';

/**
 * A client for Ghost's Content API (published content, read-only).
 *
 * @example
 * const ghost = createGhostContentClient({ url: 'https://news.coop.example', key: contentKey });
 * for await (const batch of ghost.posts({ updatedSince: lastSync })) await upsertPosts(batch);
 */
export function createGhostContentClient(opts: GhostContentClientOptions): GhostContentClient {
  const key = opts.key.trim();
  if (key === '') {
    throw new ConfigError('GHOST_CONTENT_KEY is empty.', 'Copy the Content API key from Ghost Admin → Settings → Integrations → your custom integration.');
  }
  if (key.includes(':')) {
    throw new ConfigError(
      'GHOST_CONTENT_KEY looks like an Admin API key (it contains ":"); the Content API needs the Content API key.',
      'Ghost Admin → Settings → Integrations shows both keys; the Content API key is the short one without ":".',
    );
  }
  const t = createTransport({ ...opts, setting: 'GHOST_CONTENT_KEY', secrets: [key, opts.key] });

  const browse = <S extends z.ZodType>(resource: string, item: S, query: Record<string, string>) =>
    browsePages(t, key, resource, item, query);
  const collect = async <T>(batches: AsyncGenerator<T[], void, undefined>): Promise<T[]> => {
    const all: T[] = [];
    for await (const batch of batches) all.push(...batch);
    return all;
  };
  const contentQuery = (since: Date | undefined): Record<string, string> => ({
    include: 'tags,authors',
    formats: 'html',
    ...(since ? { filter: `updated_at:>='${formatGhostFilterDate(since)}'` } : {}),
  });

  const byIds = (resource: 'posts' | 'pages', ids: string[]) => {
    // Ids go into a filter expression: only Ghost's own id shape is allowed in.
    const bad = ids.find((id) => !/^[0-9a-f]{24}$/.test(id));
    if (bad !== undefined) throw new RangeError(`Not a Ghost id: ${JSON.stringify(bad).slice(0, 40)}`);
    // The filter travels in the query string: a few dozen ids per request keep URLs short.
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += 50) chunks.push(ids.slice(i, i + 50));
    return (async () => {
      const found: GhostPost[] = [];
      for (const chunk of chunks) found.push(...(await collect(browse(resource, ghostPostSchema, { include: 'tags,authors', formats: 'html', filter: `id:[${chunk.join(',')}]` }))));
      return found;
    })();
  };

  return {
    postsByIds: (ids) => byIds('posts', ids),
    pagesByIds: (ids) => byIds('pages', ids),
    posts: (o) => browse('posts', ghostPostSchema, contentQuery(o?.updatedSince)),
    pages: (o) => browse('pages', ghostPostSchema, contentQuery(o?.updatedSince)),
    postIds: () => collect(browse('posts', ghostItemStampSchema, { fields: 'id,updated_at', include: 'tags,authors' })),
    pageIds: () => collect(browse('pages', ghostItemStampSchema, { fields: 'id,updated_at', include: 'tags,authors' })),
    tags: () => collect(browse('tags', ghostTagSchema, {})),
    authors: () => collect(browse('authors', ghostAuthorSchema, {})),
    settings: async () => {
      const path = `${contentRoot}settings/`;
      const answer = await send(t, { method: 'GET', path, query: { key }, idempotent: true });
      return parseAnswer(t, z.object({ settings: ghostSettingsSchema }), answer.body, { endpoint: endpointOf(t, 'GET', path) }).settings;
    },
  };
}

async function* browsePages<S extends z.ZodType>(
  t: GhostTransport,
  key: string,
  resource: string,
  item: S,
  query: Record<string, string>,
): AsyncGenerator<z.output<S>[], void, undefined> {
  const path = `${contentRoot}${resource}/`;
  const endpoint = endpointOf(t, 'GET', path);
  // Built per resource so problems are named as Ghost names them: `posts[3].slug`.
  const schema = z.object({ [resource]: z.array(item), meta: z.object({ pagination: ghostPaginationSchema }) }) as unknown as z.ZodType<
    Record<string, z.output<S>[]> & { meta: { pagination: GhostPagination } }
  >;
  for (let page = 1; ; ) {
    const answer = await send(t, { method: 'GET', path, query: { ...query, limit: pageSize, page: String(page), key }, idempotent: true });
    const parsed = parseAnswer(t, schema, answer.body, { endpoint, page });
    const items = parsed[resource] ?? [];
    const { next } = parsed.meta.pagination;
    yield items;
    if (next === null) return;
    if (next <= page) {
      throw new GhostApiError({
        kind: 'malformed',
        message: `Ghost at ${siteLabel(t)} answered ${endpoint} page ${page} with meta.pagination.next = ${next}, which would page backwards forever.`,
        hint: 'This is not how Ghost 6 paginates; check that GHOST_URL points to Ghost itself.',
        endpoint,
        attempts: 1,
        problems: [`meta.pagination.next: ${next} is not after page ${page}`],
      });
    }
    page = next;
  }
}

/**
 * `YYYY-MM-DD HH:MM:SS` in UTC, the form Ghost's filter compares correctly on both MySQL and
 * SQLite (an ISO string with `T`/`Z` silently matches nothing on SQLite). Milliseconds are cut,
 * so `>=` still includes the instant itself.
 */
export function formatGhostFilterDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('updatedSince is an invalid Date');
  return date.toISOString().slice(0, 19).replace('T', ' ');
}
