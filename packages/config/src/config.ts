import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, createLinks, maskUrl, parseWithFriendlyErrors, type Part } from '@rose/core';
import { listenOrigin, parseProxyEntry } from './site-origin.ts';
export { settings } from './settings.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly root: string;
  readonly database: { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'pglite'; readonly dir: string };
  readonly cache: { readonly kind: 'redis'; readonly url: string; readonly namespace: string } | { readonly kind: 'memory' };
  readonly dataDir: string;
  readonly contentDir: string;
  readonly distDir: string;
  /** The public origin: ROSE_SITE_URL, or where `rose serve` listens when that is unset. */
  readonly siteUrl: string;
  /** Whether ROSE_SITE_URL was set; when not, `withListenOrigin` makes siteUrl follow the listen address. */
  readonly siteUrlExplicit: boolean;
  /** Proxies (IPs and CIDR ranges) whose X-Forwarded-Host/-Proto and X-Request-Id are believed; none by default. */
  readonly trustedProxies: readonly string[];
  /** ROSE_METRICS_TOKEN: the bearer token `/api/metrics` (and `/api/ready`'s details) ask for; unset: private addresses connecting directly only. */
  readonly metricsToken: string | undefined;
  readonly server: { readonly host: string; readonly port: number };
  readonly logLevel: LogLevel;
  readonly fragmentTtlSeconds: number;
  readonly postsPerPage: number;
  readonly keepReleases: number;
  readonly mail: { readonly smtpUrl: string | undefined; readonly from: string };
  /** Origins of parts on their own hosts (first-party SSO clients). */
  readonly partOrigins: readonly string[];
  /** Which part lives on which of those origins (entries `part=origin`), for links (`createLinks`). */
  readonly partHosts: Readonly<Partial<Record<Part, string>>>;
  /**
   * ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES: tests only. Lets ActivityPub fetch from and
   * deliver to loopback and private addresses, which are otherwise refused (SSRF).
   */
  readonly federationAllowPrivateAddresses: boolean;
  /** ROSE_FEDERATION_INBOX_PER_MINUTE: deliveries one sender may make per minute (0: no limit). */
  readonly federationInboxPerMinute: number;
  /** Set when the blog is synced from Ghost. */
  readonly ghost: { readonly url: string; readonly contentKey: string; readonly adminKey: string | undefined; readonly webhookSecret: string | undefined } | undefined;
}

/**
 * An Astro key is the base64 of a 256-bit AES-GCM key (what `astro create-key` prints):
 * Astro imports it with `crypto.subtle.importKey('raw', …, 'AES-GCM')` at build time.
 */
export function isAstroKey(value: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(value) && Buffer.from(value, 'base64').toString('base64') === value;
}

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const urlWithProtocols = (protocols: string[], example: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, `expected a URL like ${example}`)
      .optional(),
  );

const intInRange = (min: number, max: number, fallback: number) =>
  z.preprocess(
    (v) => emptyToUndefined(v) ?? String(fallback),
    z
      .string()
      .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
      .transform(Number)
      .refine((n) => n >= min && n <= max, `expected a whole number from ${min} to ${max}`),
  );

const envSchema = z.object({
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:'], 'postgres://user:password@127.0.0.1:5432/rose'),
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:'], 'redis://127.0.0.1:6379/0'),
  GHOST_URL: urlWithProtocols(['http:', 'https:'], 'https://ghost.example.org'),
  SMTP_URL: urlWithProtocols(['smtp:', 'smtps:'], 'smtps://user:password@mail.example.org:465'),
  ROSE_PART_ORIGINS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine(
        (v) =>
          v.split(',').every((entry) => {
            try {
              const u = new URL(partOriginEntry(entry).origin);
              return (u.protocol === 'https:' || u.protocol === 'http:') && u.pathname === '/' && !u.search;
            } catch {
              return false;
            }
          }),
        'expected origins like https://blog.coop.example,market=https://market.coop.example (a part name and "=" say which part lives there)',
      )
      .optional(),
  ),
  MAIL_FROM: z.preprocess(emptyToUndefined, z.string().min(3).max(200).regex(/@/, 'expected a sender like "Rose Ash <no-reply@example.org>"').default('Rose Ash <no-reply@localhost>')),
  GHOST_CONTENT_KEY: z.preprocess(emptyToUndefined, z.string().regex(/^[0-9a-f]{26}$/, 'expected the 26 hex characters of a Ghost Content API key').optional()),
  GHOST_ADMIN_KEY: z.preprocess(emptyToUndefined, z.string().regex(/^[0-9a-f]{24}:[0-9a-f]{64}$/, 'expected a Ghost Admin API key "id:secret" (24 and 64 hex characters)').optional()),
  GHOST_WEBHOOK_SECRET: z.preprocess(emptyToUndefined, z.string().min(16, 'expected at least 16 characters').max(256).optional()),
  ROSE_CACHE_NAMESPACE: z.preprocess(
    emptyToUndefined,
    z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'expected 1-64 letters, digits, ":", "_", "." or "-"').default('rose:'),
  ),
  ROSE_DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.rose')),
  ROSE_CONTENT_DIR: z.preprocess(emptyToUndefined, z.string().default('content')),
  ROSE_DIST_DIR: z.preprocess(emptyToUndefined, z.string().default('dist')),
  ROSE_SITE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((value) => {
        try {
          const u = new URL(value);
          return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search;
        } catch {
          return false;
        }
      }, 'expected an origin like https://coop.example.org (http or https, no path)')
      .optional(),
  ),
  ROSE_TRUSTED_PROXIES: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => v.split(',').every((entry) => parseProxyEntry(entry) !== undefined), 'expected IP addresses or CIDR ranges like 127.0.0.1,10.0.0.0/8,::1')
      .optional(),
  ),
  ROSE_METRICS_TOKEN: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .min(16, 'expected at least 16 characters (e.g. `openssl rand -hex 24`)')
      .max(256, 'expected at most 256 characters')
      .regex(/^[\x21-\x7e]+$/, 'expected printable characters without spaces')
      .optional(),
  ),
  ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES: z.preprocess(emptyToUndefined, z.enum(['true', 'false'], { message: 'expected true or false' }).default('false')),
  ROSE_FEDERATION_INBOX_PER_MINUTE: intInRange(0, 1_000_000, 600),
  HOST: z.preprocess(
    emptyToUndefined,
    z.string().regex(/^[A-Za-z0-9.:\-[\]]+$/, 'expected a host name or IP address').default('localhost'),
  ),
  PORT: intInRange(1, 65535, 4321),
  ROSE_LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  ROSE_FRAGMENT_TTL: intInRange(0, 86_400, 60),
  ROSE_POSTS_PER_PAGE: intInRange(1, 100, 10),
  ROSE_KEEP_RELEASES: intInRange(2, 100, 5),
  ASTRO_KEY: z.preprocess(
    emptyToUndefined,
    z.string().refine(isAstroKey, 'expected the base64 of a 32-byte key (44 characters ending in "="), as `npx astro create-key` prints it').optional(),
  ),
});

const secretKeys = new Set(['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'GHOST_CONTENT_KEY', 'GHOST_ADMIN_KEY', 'GHOST_WEBHOOK_SECRET', 'ROSE_METRICS_TOKEN']);
const opaqueSecrets = new Set(['GHOST_CONTENT_KEY', 'GHOST_ADMIN_KEY', 'GHOST_WEBHOOK_SECRET', 'ASTRO_KEY', 'ROSE_METRICS_TOKEN']);

/**
 * Validates the environment and returns a frozen Config.
 *
 * @example
 * const config = loadConfig(process.env, { root: process.cwd() });
 * config.database.kind; // 'pglite' when DATABASE_URL is unset
 */
export function loadConfig(env: Record<string, string | undefined>, opts: { root: string }): Config {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) picked[key] = env[key];
  const parsed = parseWithFriendlyErrors(envSchema, picked);
  if (!parsed.ok) {
    const lines = parsed.problems.map((problem) => {
      const key = problem.split(':')[0] ?? '';
      const given = picked[key];
      const shown =
        given === undefined || opaqueSecrets.has(key) ? '' : ` (got ${JSON.stringify(secretKeys.has(key) ? maskUrl(given) : given)})`;
      return `  ${problem}${shown}`;
    });
    throw new ConfigError(
      `${lines.length === 1 ? 'A setting is' : 'Some settings are'} invalid:\n${lines.join('\n')}`,
      'Fix the environment variable(s) above; `rose --help` lists every setting.',
    );
  }
  const v = parsed.value;
  if (Boolean(v.GHOST_URL) !== Boolean(v.GHOST_CONTENT_KEY)) {
    throw new ConfigError(
      v.GHOST_URL ? 'GHOST_URL is set but GHOST_CONTENT_KEY is not.' : 'GHOST_CONTENT_KEY is set but GHOST_URL is not.',
      'Set both to sync the blog from Ghost (Ghost Admin → Settings → Integrations → a custom integration), or neither to use content/.',
    );
  }
  const root = path.resolve(opts.root);
  const resolve = (p: string) => path.resolve(root, p);
  const dataDir = resolve(v.ROSE_DATA_DIR);
  const dataDirProblem = checkDataDir(dataDir);
  if (dataDirProblem) {
    throw new ConfigError(
      `A setting is invalid:\n  ROSE_DATA_DIR: ${dataDirProblem} (got ${JSON.stringify(v.ROSE_DATA_DIR)})`,
      'Point ROSE_DATA_DIR at a folder Rose Ash may create and write (default: .rose in the project); `rose --help` lists every setting.',
    );
  }
  const distDir = resolve(v.ROSE_DIST_DIR);
  const rel = path.relative(root, distDir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    // The server bundle in <dist>/server imports the project's node_modules by plain
    // Node resolution, which only looks in parent folders.
    throw new ConfigError(
      `ROSE_DIST_DIR must be a folder inside the project (${root}), got ${JSON.stringify(v.ROSE_DIST_DIR)}.`,
      'The built server loads its dependencies from the project\'s node_modules; keep the output inside the project, e.g. "dist" or ".rose/releases/x".',
    );
  }
  const partEntries = v.ROSE_PART_ORIGINS ? v.ROSE_PART_ORIGINS.split(',').map(partOriginEntry) : [];
  const config: Config = {
    root,
    database: v.DATABASE_URL ? { kind: 'postgres', url: v.DATABASE_URL } : { kind: 'pglite', dir: path.join(dataDir, 'pglite') },
    cache: v.REDIS_URL ? { kind: 'redis', url: v.REDIS_URL, namespace: v.ROSE_CACHE_NAMESPACE } : { kind: 'memory' },
    dataDir,
    contentDir: resolve(v.ROSE_CONTENT_DIR),
    distDir,
    // Without ROSE_SITE_URL, where `rose serve` listens by default (HOST, PORT): a build then
    // bakes in the origin its server will have, and the server re-renders through it.
    siteUrl: new URL(v.ROSE_SITE_URL ?? listenOrigin(v.HOST, v.PORT)).origin,
    siteUrlExplicit: v.ROSE_SITE_URL !== undefined,
    trustedProxies: v.ROSE_TRUSTED_PROXIES ? v.ROSE_TRUSTED_PROXIES.split(',').map((entry) => parseProxyEntry(entry)!) : [],
    metricsToken: v.ROSE_METRICS_TOKEN,
    federationAllowPrivateAddresses: v.ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES === 'true',
    federationInboxPerMinute: v.ROSE_FEDERATION_INBOX_PER_MINUTE,
    server: { host: v.HOST, port: v.PORT },
    logLevel: v.ROSE_LOG_LEVEL,
    fragmentTtlSeconds: v.ROSE_FRAGMENT_TTL,
    postsPerPage: v.ROSE_POSTS_PER_PAGE,
    keepReleases: v.ROSE_KEEP_RELEASES,
    mail: { smtpUrl: v.SMTP_URL, from: v.MAIL_FROM },
    partOrigins: [...new Set(partEntries.map((e) => new URL(e.origin).origin))],
    partHosts: Object.fromEntries(partEntries.flatMap((e) => (e.part ? [[e.part, new URL(e.origin).origin]] : []))),
    ghost:
      v.GHOST_URL && v.GHOST_CONTENT_KEY
        ? { url: v.GHOST_URL.replace(/\/+$/, ''), contentKey: v.GHOST_CONTENT_KEY, adminKey: v.GHOST_ADMIN_KEY, webhookSecret: v.GHOST_WEBHOOK_SECRET }
        : undefined,
  };
  // A part name that is not a part, or sign-in/account on a host of its own, is refused here.
  createLinks({ siteUrl: config.siteUrl, partHosts: config.partHosts });
  return deepFreeze(config);
}

/** An entry of ROSE_PART_ORIGINS: `https://blog.coop.example`, or `blog=https://blog.coop.example`. */
function partOriginEntry(entry: string): { part: Part | undefined; origin: string } {
  const m = /^\s*([a-z]+)=(.*)$/.exec(entry);
  return m ? { part: m[1] as Part, origin: m[2]!.trim() } : { part: undefined, origin: entry.trim() };
}

/** Kernel and device file systems: writing there hangs or fails in odd ways, never stores. */
const systemRoots = ['/proc', '/sys', '/dev'];

/**
 * Why `dir` cannot be the data folder, or undefined when it can: it must be a folder, or
 * be creatable (its nearest existing ancestor a writable folder), and not under a kernel
 * or device file system — symlinks resolved.
 */
function checkDataDir(dir: string): string | undefined {
  let existing = dir;
  let missing = '';
  for (;;) {
    try {
      const stat = statSync(existing);
      if (!stat.isDirectory()) {
        return existing === dir ? 'expected a folder, but this is a file' : `expected a folder that can be created, but ${existing} is a file`;
      }
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: an ancestor is a file; walking up finds it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `cannot be used (${code ?? String(error)} on ${existing})`;
      const parent = path.dirname(existing);
      if (parent === existing) return 'cannot be used (no part of the path exists)';
      missing = path.join(path.basename(existing), missing);
      existing = parent;
    }
  }
  let real: string;
  try {
    real = path.join(realpathSync(existing), missing);
  } catch {
    real = dir;
  }
  for (const root of systemRoots) {
    if (real === root || real.startsWith(`${root}/`)) return `expected a folder for Rose Ash's files, not one under ${root} (a kernel or device file system)`;
  }
  if (existing !== dir) {
    try {
      accessSync(existing, constants.W_OK);
    } catch {
      return `expected a folder that can be created, but ${existing} is not writable`;
    }
  }
  return undefined;
}

/** A printable description of where data lives, with secrets masked. */
export function describeDatabase(config: Config): string {
  return config.database.kind === 'postgres' ? maskUrl(config.database.url) : `embedded PGlite at ${config.database.dir}`;
}

/**
 * The config a server uses once it knows where it listens: without ROSE_SITE_URL, the site's
 * origin (the OpenID issuer, sign-in and account pages) is the listen address.
 *
 * @example
 * withListenOrigin(loadConfig({}, { root }), 'http://127.0.0.1:8080').siteUrl // 'http://127.0.0.1:8080'
 */
export function withListenOrigin(config: Config, origin: string): Config {
  if (config.siteUrlExplicit) return config;
  return deepFreeze({ ...config, siteUrl: new URL(origin).origin });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
