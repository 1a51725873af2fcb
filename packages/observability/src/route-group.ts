import { linkPaths, partPath } from '@rose/core';

/**
 * What a request is for, in a handful of names: the label of the request metrics and of the
 * request log line. Never a path: paths are unbounded (every post, every token), labels must
 * not be. `static` is decided by the server (a file of the release answered it); the rest by
 * the path.
 */
export const routeGroups = ['static', 'island', 'auth', 'account', 'api', 'market', 'blog', 'other'] as const;
export type RouteGroup = (typeof routeGroups)[number];

// Astro's server islands (`server:defer`) are fetched from here.
const islandPrefix = '/_server-islands/';
const byPrefix: readonly (readonly [string, RouteGroup])[] = [
  [islandPrefix, 'island'],
  [partPath('auth'), 'auth'],
  [partPath('account'), 'account'],
  [linkPaths.api.prefix(), 'api'],
  [partPath('market'), 'market'],
  [partPath('blog'), 'blog'],
];

/**
 * The route group of a dynamic request from its target (path and query, as in `req.url`).
 * A prefix counts with or without its trailing slash (`/auth` and `/auth/login` are `auth`).
 *
 * @example
 * routeGroupOf('/_server-islands/AccountMenu?e=…') // 'island'
 * routeGroupOf('/auth?x=1')                        // 'auth'
 * routeGroupOf('/authors/')                        // 'other'
 */
export function routeGroupOf(target: string): Exclude<RouteGroup, 'static'> {
  for (const [prefix, group] of byPrefix) {
    if (target.startsWith(prefix)) return group as Exclude<RouteGroup, 'static'>;
    // The prefix without its slash, as the whole path (before a query or fragment).
    const bare = prefix.length - 1;
    if (target.length >= bare && target.startsWith(prefix.slice(0, bare)) && (target.length === bare || target[bare] === '?' || target[bare] === '#')) {
      return group as Exclude<RouteGroup, 'static'>;
    }
  }
  return 'other';
}
