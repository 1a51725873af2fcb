import path from 'node:path';
import { z } from 'zod';
import { blogLinks, linkPaths, parseWithFriendlyErrors, partPath, RoseError, type Part } from '@rose/core';
import { assetPolicy, baseSecurityHeaders, cacheControls, htmlPolicy } from '@rose/static-files';

/** What the Caddyfile is made from: the host map, the app servers and where the releases are. */
export interface CaddyConfigInput {
  /** The site's origin (ROSE_SITE_URL). */
  siteUrl: string;
  /** Origins of parts on their own hosts (ROSE_PART_ORIGINS), each served like the site's. */
  partOrigins?: readonly string[];
  /** Which part lives on which of those origins (the `part=origin` entries), named in comments. */
  partHosts?: Readonly<Partial<Record<Part, string>>>;
  /** The app servers (`rose serve`), `host:port` each, as Caddy reaches them. */
  upstreams: readonly string[];
  /** The releases folder (ROSE_DIST_DIR) on the machine Caddy runs on: absolute. */
  distDir: string;
}

/**
 * Paths only the app answers, never looked up on disk: server islands, sign-in and the
 * provider, account, cart, social (ActivityPub actors and inboxes), the API, well-known
 * endpoints (WebFinger, NodeInfo, OpenID discovery), NodeInfo documents and the market's
 * staff pages. Anything else not found on disk goes to the app too, so an on-demand route
 * works without being listed here.
 */
export function dynamicPaths(): string[] {
  const prefix = (p: string) => p.replace(/\/$/, '');
  const under = (p: string) => [prefix(p), `${prefix(p)}/*`];
  const apiPrefix = linkPaths.api.health().replace(/[^/]+$/, '');
  return [
    '/_server-islands/*',
    ...(['auth', 'account', 'cart', 'social'] as const).flatMap((part) => under(partPath(part))),
    `${apiPrefix}*`,
    '/.well-known/*',
    '/nodeinfo',
    '/nodeinfo/*',
    // ActivityPub ids, inboxes and collections (@rose/federation).
    '/ap/*',
    ...under(linkPaths.market.manage()),
  ];
}

/**
 * Pages the build writes as a meta-refresh redirect: `rose serve` answers them with a 301,
 * and so does Caddy (query kept). A redirect page not listed here is served as the page it
 * is, which browsers follow too.
 */
const redirectPages = [{ from: blogLinks.listPageOne(), to: blogLinks.home() }];

/**
 * The one thing Caddy cannot send as `rose serve` does. A page's policy there allows exactly
 * the inline scripts in that page (by SHA-256, read from the file when it is first served):
 * the server-island loaders, different in every page and every build. A Caddyfile cannot
 * read a file to make a header, so pages served by Caddy allow inline scripts by
 * `'unsafe-inline'` instead, every other directive unchanged.
 */
export const caddyPagePolicy = htmlPolicy(["'unsafe-inline'"]);

/** `rose serve`'s rule for content-hashed file names (static-files' static-index.ts), as RE2. */
const hashedName = String.raw`\.[0-9a-f]{16,64}\.[a-z0-9]+$`;

/**
 * Content types `rose serve` sends (static-files' content-types.ts) where Caddy's guess from the
 * extension differs: feeds by name, then a few extensions (text ones in UTF-8).
 */
const feedTypes = [
  { name: 'rss.xml', type: 'application/rss+xml; charset=utf-8' },
  { name: 'atom.xml', type: 'application/atom+xml; charset=utf-8' },
  { name: 'feed.json', type: 'application/feed+json; charset=utf-8' },
] as const;
const extensionTypes = [
  { ext: 'json', type: 'application/json; charset=utf-8' },
  { ext: 'map', type: 'application/json; charset=utf-8' },
  { ext: 'webmanifest', type: 'application/manifest+json; charset=utf-8' },
  { ext: 'svg', type: 'image/svg+xml; charset=utf-8' },
  { ext: 'ics', type: 'text/calendar; charset=utf-8' },
  { ext: 'ico', type: 'image/x-icon' },
] as const;

const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ipv6Pattern = /^\[[0-9A-Fa-f:.]+\]$/;

const upstreamSchema = z.string().transform((value, ctx) => {
  const m = /^(.+):(\d{1,5})$/.exec(value.trim());
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (!host || !(hostPattern.test(host) || ipv6Pattern.test(host)) || !(port >= 1 && port <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `expected host:port (e.g. 10.0.0.5:4321, app1.internal:4321 or [fd00::5]:4321), got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return `${host.toLowerCase()}:${port}`;
});

const originSchema = z.string().transform((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: `expected an http(s) origin without a path, like https://coop.example.org, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return url.origin;
});

const inputSchema = z.object({
  siteUrl: originSchema,
  partOrigins: z.array(originSchema).default([]),
  upstreams: z
    .array(upstreamSchema)
    .min(1, 'give at least one app server (host:port)')
    .refine((list) => new Set(list).size === list.length, 'an app server is listed twice'),
  distDir: z
    .string()
    .refine((dir) => path.isAbsolute(dir), 'expected an absolute path, e.g. /srv/rose/dist')
    // Caddyfile tokens: no spaces, quotes, braces or placeholders to escape.
    .refine((dir) => /^[A-Za-z0-9._/@+-]+$/.test(dir), 'expected a path of letters, digits and . _ / @ + - only (no spaces, quotes or braces)'),
});

/** A problem with the input, named as the person running `rose caddy config` knows it. */
function nameInput(problem: string): string {
  return problem
    .replace(/^upstreams(\[\d+\])?/, '--upstream$1')
    .replace(/^distDir/, '--dist')
    .replace(/^siteUrl/, 'ROSE_SITE_URL')
    .replace(/^partOrigins/, 'ROSE_PART_ORIGINS');
}

/**
 * A commented Caddyfile (Caddy 2.6+) that puts Caddy in front of one or more `rose serve`
 * processes: one site block per origin (the site and each part on a host of its own, all
 * served alike), the live release's files straight from `<distDir>/current/client` with the
 * brotli/gzip variants `rose build` wrote, the caching and security headers `rose serve`
 * sends, and everything dynamic — or not on disk — proxied to the app servers with health
 * checks and retries. Throws a `bad-argument` RoseError naming the bad input.
 *
 * @example
 * const caddyfile = createCaddyConfig({
 *   siteUrl: 'https://coop.example',
 *   partOrigins: ['https://market.coop.example'],
 *   partHosts: { market: 'https://market.coop.example' },
 *   upstreams: ['10.0.0.5:4321', '10.0.0.6:4321'],
 *   distDir: '/srv/rose/dist',
 * });
 */
export function createCaddyConfig(input: CaddyConfigInput): string {
  const parsed = parseWithFriendlyErrors(inputSchema, input);
  if (!parsed.ok) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Cannot write the Caddy configuration',
      message: parsed.problems.map(nameInput).join('\n'),
      hint: 'App servers are given as --upstream host:port (repeat it for each); the origins come from ROSE_SITE_URL and ROSE_PART_ORIGINS.',
    });
  }
  const { siteUrl, upstreams, distDir } = parsed.value;
  const origins = [...new Set([siteUrl, ...parsed.value.partOrigins])];
  const listens = new Map<string, string>(
    origins.map((o) => {
      const u = new URL(o);
      return [`${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`, o];
    }),
  );
  const loop = upstreams.find((u) => listens.has(u));
  if (loop) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Cannot write the Caddy configuration',
      message: `The app server ${loop} is the address Caddy itself would listen on for ${listens.get(loop)}: Caddy would pass requests to itself.`,
      hint: 'Run `rose serve` on another port (or host) than the public origin, and give that address with --upstream.',
    });
  }
  const partOf = new Map(Object.entries(input.partHosts ?? {}).flatMap(([part, origin]) => (origin ? [[new URL(origin).origin, part] as const] : [])));
  const root = path.posix.join(distDir, 'current', 'client');
  const dynamic = dynamicPaths().join(' ');
  const security = Object.entries(baseSecurityHeaders);
  const quote = (value: string) => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const describe = (origin: string) => (origin === siteUrl ? 'the site: sign-in, account, the provider, the API, and every part without a host of its own' : partOf.has(origin) ? `the ${partOf.get(origin)} part (its links point here)` : 'a part host (single sign-on client)');
  const width = Math.max(...origins.map((o) => o.length));
  /** One `header` handler setting all of `fields` (in a `handle` block). */
  const headerBlock = (fields: readonly (readonly [string, string])[]) => ['\t\theader {', ...fields.map(([name, value]) => `\t\t\t${name} ${quote(value)}`), '\t\t}'];
  const redirectHeaders = headerBlock([...security, ['Content-Security-Policy', assetPolicy], ['Cache-Control', 'public, max-age=3600']]);
  // 301 to `to`, keeping the query (Caddy 2.6 has no `{?query}`: two rules).
  const redirectTo = (to: string) => ['\t\t@withQuery expression {query} != ""', `\t\tredir @withQuery ${to}?{query} permanent`, `\t\tredir * ${to} permanent`];
  const notRedirectPage = `\t\tnot path ${redirectPages.map((r) => r.from).join(' ')}`;

  const lines: string[] = [
    '# Rose Ash behind Caddy — written by `rose caddy config`. Regenerate it rather than edit it:',
    `#   rose caddy config --out Caddyfile ${upstreams.map((u) => `--upstream ${u}`).join(' ')} --dist ${distDir}`,
    '# Check it with `caddy validate --adapter caddyfile --config Caddyfile`; load it with `caddy reload`.',
    '#',
    '# Origins (ROSE_SITE_URL and ROSE_PART_ORIGINS), one site block each, all served alike:',
    ...origins.map((o) => `#   ${o.padEnd(width)}  ${describe(o)}`),
    `# App servers (\`rose serve\`): ${upstreams.join(', ')}`,
    `# Static files: ${root} — the live release; a build, rollback or deploy switches`,
    '#   `current`, and Caddy serves the new release from the next request on.',
    '#',
    '# What the app servers need, each of them:',
    '#   - the same ROSE_SITE_URL and ROSE_PART_ORIGINS as this file was written from;',
    '#   - ROSE_TRUSTED_PROXIES naming the address Caddy connects from (127.0.0.1 when on the same',
    '#     machine), so the X-Forwarded-Proto and X-Forwarded-Host Caddy sends are believed',
    '#     (redirects, cookies and the CSRF check use the visitor\'s origin). Caddy keeps the Host header;',
    '#   - one shared ASTRO_KEY: a page built anywhere loads its server islands from any server;',
    '#   - DATABASE_URL and REDIS_URL of one Postgres and one Redis (the embedded database serves',
    '#     one process only);',
    '#   - the releases folder (ROSE_DIST_DIR) with the same live release Caddy reads here;',
    '#   - to listen where Caddy reaches them (HOST/PORT or --host/--port) and answer /api/health;',
    '#   - `rose serve --no-worker`, with one `rose worker` beside them.',
    `# ${linkPaths.api.metrics()} is not answered here (404): Prometheus scrapes each app server directly on the`,
    '# private network (the host:port above, with ROSE_METRICS_TOKEN if set). The app refuses it too to',
    '# anything that came through a proxy without the token, whatever address the proxy names.',
    '# Each request passed on carries X-Request-Id (a new UUID per request): the app logs it with',
    '# everything the request does and sends it back, so a visitor can quote it.',
    '#',
    '# Headers of files served from disk are those `rose serve` sends (nosniff, referrer policy,',
    '# Content-Security-Policy, caching), with one difference: `rose serve` gives each page a',
    "# policy allowing exactly that page's inline scripts (by hash, read from the file); a",
    "# Caddyfile cannot read a file into a header, so pages here allow inline scripts with",
    "# 'unsafe-inline'. Every other directive is the same.",
    '',
    '# The app servers: dynamic paths, and whatever is not a file of the release.',
    '(rose_app) {',
    `\treverse_proxy ${upstreams.join(' ')} {`,
    '\t\tlb_policy round_robin',
    '\t\t# A server that cannot be reached, or dies before it answers, is skipped and the request',
    '\t\t# tried on another for up to 5 s. GET and HEAD are tried again even when the server got',
    '\t\t# the request (asking again changes nothing); other methods only when it never did.',
    '\t\tlb_try_duration 5s',
    '\t\tlb_try_interval 250ms',
    '\t\tlb_retry_match {',
    '\t\t\tmethod GET HEAD',
    '\t\t}',
    '\t\t# Passive health: a server that fails a request gets none for 10 s.',
    '\t\tfail_duration 10s',
    '\t\tmax_fails 1',
    '\t\t# Active health: /api/health every 5 s; no requests to a server until it answers 200.',
    '\t\t# It is liveness (the process answers), not readiness: a database or Redis outage, shared by',
    '\t\t# every server, must not empty the pool (the app still answers what it can, and its own errors).',
    `\t\thealth_uri ${linkPaths.api.health()}`,
    '\t\thealth_interval 5s',
    '\t\thealth_timeout 3s',
    '\t\thealth_status 200',
    '\t\t# X-Forwarded-For, -Proto and -Host are set by Caddy (what visitors send is dropped).',
    '\t\theader_up X-Request-Id {http.request.uuid}',
    '\t}',
    '}',
    '',
    '# Everything one origin serves.',
    '(rose_site) {',
    `\troot * ${root}`,
    '\t# rose serve sends no Server header; neither does Caddy here.',
    '\theader -Server',
    '',
    '\t# The metrics are for Prometheus on the private network, which asks the app servers directly.',
    `\thandle ${linkPaths.api.metrics()} {`,
    ...headerBlock([...security, ['Content-Security-Policy', assetPolicy], ['Cache-Control', 'no-store'], ['Content-Type', 'text/plain; charset=utf-8']]),
    '\t\trespond "Not found" 404',
    '\t}',
    '',
    '\t# Redirect pages the build writes (a meta refresh): answered as the redirect they stand for.',
    ...redirectPages.flatMap(({ from, to }) => [
      `\thandle ${from} {`,
      ...redirectHeaders,
      ...redirectTo(to),
      '\t}',
    ]),
    '',
    '\t# A page: /blog/ is blog/index.html.',
    '\t@page {',
    '\t\tmethod GET HEAD',
    '\t\tpath */',
    `\t\tnot path ${dynamic}`,
    notRedirectPage,
    '\t\tfile {path}index.html',
    '\t}',
    '\thandle @page {',
    ...headerBlock([...security, ['Cache-Control', cacheControls.html], ['Content-Security-Policy', caddyPagePolicy]]),
    '\t\tfile_server {',
    '\t\t\tprecompressed br gzip',
    '\t\t}',
    '\t}',
    '',
    '\t# Any other file of the release. Precompressed variants (.br, .gz) and dot-files are not',
    '\t# files of their own (the app answers 404 for them, as rose serve does).',
    '\t@file {',
    '\t\tmethod GET HEAD',
    '\t\tnot path */ */.* *.br *.gz',
    `\t\tnot path ${dynamic}`,
    '\t\tfile {path}',
    '\t}',
    '\thandle @file {',
    '\t\t# Caching: a year for content-hashed assets, revalidation for pages, 5 minutes for the',
    '\t\t# rest; the page policy for pages, the asset policy for everything else. First match wins.',
    '\t\tmap {path} {rose_cache} {rose_policy} {',
    `\t\t\t~(?i)^/_astro/.*\\.html?$ ${quote(cacheControls.immutable)} ${quote(caddyPagePolicy)}`,
    `\t\t\t~^/_astro/ ${quote(cacheControls.immutable)} ${quote(assetPolicy)}`,
    `\t\t\t~(?i)\\.html?$ ${quote(cacheControls.html)} ${quote(caddyPagePolicy)}`,
    `\t\t\t~${hashedName} ${quote(cacheControls.immutable)} ${quote(assetPolicy)}`,
    `\t\t\tdefault ${quote(cacheControls.other)} ${quote(assetPolicy)}`,
    '\t\t}',
    ...headerBlock([...security, ['Cache-Control', '{rose_cache}'], ['Content-Security-Policy', '{rose_policy}']]),
    '\t\t# Content types as rose serve sends them, where Caddy would guess otherwise.',
    ...feedTypes.flatMap(({ name, type }, i) => [`\t\t@feed${i} path */${name}`, `\t\theader @feed${i} Content-Type ${quote(type)}`]),
    ...extensionTypes.flatMap(({ ext, type }) => [
      `\t\t@${ext}Type {`,
      `\t\t\tpath *.${ext}`,
      `\t\t\tnot path ${feedTypes.map((f) => `*/${f.name}`).join(' ')}`,
      '\t\t}',
      `\t\theader @${ext}Type Content-Type ${quote(type)}`,
    ]),
    '\t\tfile_server {',
    '\t\t\tprecompressed br gzip',
    '\t\t}',
    '\t}',
    '',
    '\t# A folder without its slash (/blog) → /blog/, as rose serve does. After pages and files:',
    '\t# fewer look-ups on disk for what is asked most.',
    '\t@folder {',
    '\t\tmethod GET HEAD',
    '\t\tnot path */',
    `\t\tnot path ${dynamic}`,
    '\t\tfile {path}/index.html',
    '\t}',
    '\thandle @folder {',
    ...redirectHeaders,
    ...redirectTo('{path}/'),
    '\t}',
    '',
    `\t# The app: ${dynamicPaths().join(', ')},`,
    '\t# on-demand pages, other methods, and anything not found above (it answers 404 with the site\'s page).',
    '\t# No `encode`: files carry the variants `rose build` wrote, and the app compresses what it renders.',
    '\thandle {',
    '\t\timport rose_app',
    '\t}',
    '}',
    '',
    ...origins.flatMap((origin) => [`# ${describe(origin)}`, `${origin} {`, '\timport rose_site', '}', '']),
  ];
  return lines.join('\n');
}
