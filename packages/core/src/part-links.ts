import { ConfigError } from './errors.ts';
import { blogLinks, marketLinks, partPath, parts, siteLinks, type Part } from './links.ts';

/**
 * Every link of every part, in one place. Paths are the same on every host (the app serves
 * all of them); a part on its own host (`ROSE_PART_ORIGINS`, `market=https://market.coop.example`)
 * changes only its absolute URLs. Sign-in, account, the provider and the API live on the
 * site's origin (ADR 0007), so they cannot have a host of their own.
 *
 * Outside this file and `links.ts`, no source spells a part's path (test/part-links.test.ts).
 */

const returnQuery = (returnTo: string | undefined) => (returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : '');
const tokenQuery = (token: string) => `?token=${encodeURIComponent(token)}`;

/** Where the OpenID provider is mounted; its issuer is `<siteUrl>/auth`. */
const providerPrefix = partPath('auth').replace(/\/$/, '');

/** Site-relative paths of each part's pages and endpoints; the same on every host. */
export const linkPaths = {
  /** The site as a whole, outside every part. */
  site: siteLinks,
  blog: blogLinks,
  market: marketLinks,
  events: { home: () => partPath('events') },
  cart: { home: () => partPath('cart') },
  /** The members' social hub (ActivityPub): pages rendered on demand for a signed-in member. */
  social: {
    /** The home timeline. */
    home: () => partPath('social'),
    /** A local actor's profile (`@blog`, `@ann`); also where their ActivityPub id sends a browser. */
    profile: (handle: string) => partPath('social', `@${encodeURIComponent(handle)}`),
    /** A remote actor's profile, by actor id. */
    remoteProfile: (uri: string) => `${partPath('social', 'profile')}?uri=${encodeURIComponent(uri)}`,
    notifications: () => partPath('social', 'notifications'),
    followers: () => partPath('social', 'followers'),
    following: () => partPath('social', 'following'),
    /** Posts with a hashtag. */
    tag: (tag: string) => partPath('social', `tags/${encodeURIComponent(tag.toLowerCase())}`),
    /** Turning on (and editing) a member's profile. */
    settings: () => partPath('social', 'settings'),
    /** Staff: replies to the co-op's posts, hide/block. */
    moderation: () => partPath('social', 'moderation'),
  },
  account: {
    /** The member's dashboard; also where sign-in returns by default. */
    home: () => partPath('account'),
  },
  auth: {
    /** The sign-in page; `returnTo` is a site path to come back to after signing in. */
    login: (returnTo?: string) => `${partPath('auth', 'login')}${returnQuery(returnTo)}`,
    signup: () => partPath('auth', 'signup'),
    /** Signing out (POST). */
    logout: () => partPath('auth', 'logout'),
    /** The link in the confirm-your-address mail. */
    verify: (token: string) => `${partPath('auth', 'verify')}${tokenQuery(token)}`,
    /** Asking for a password reset link. */
    reset: () => partPath('auth', 'reset'),
    /** The link in the reset mail. */
    resetConfirm: (token: string) => `${partPath('auth', 'reset/confirm')}${tokenQuery(token)}`,
    /** The link in the confirm-your-new-address mail. */
    emailChange: (token: string) => `${partPath('auth', 'email-change')}${tokenQuery(token)}`,
    /** Single sign-on on a part's own host: start (GET), callback, back-channel logout (POST). */
    ssoStart: (returnTo?: string) => `${partPath('auth', 'sso/start')}${returnQuery(returnTo)}`,
    ssoCallback: () => partPath('auth', 'sso/callback'),
    ssoBackchannel: () => partPath('auth', 'sso/backchannel'),
    /** The path the single sign-on state cookie is scoped to. */
    ssoCookiePath: () => partPath('auth', 'sso/'),
  },
  /** The OpenID provider's own pages, under `/auth` on the site's origin. */
  provider: {
    /** The mount point (no trailing slash): the issuer is this on the site's origin. */
    prefix: () => providerPrefix,
    interaction: (uid: string) => `${providerPrefix}/interaction/${uid}`,
    interactionConfirm: (uid: string) => `${providerPrefix}/interaction/${encodeURIComponent(uid)}/confirm`,
    interactionAbort: (uid: string) => `${providerPrefix}/interaction/${encodeURIComponent(uid)}/abort`,
  },
  api: {
    /** Where every API endpoint lives (a route group of its own in the metrics). */
    prefix: () => '/api/',
    /** Liveness (database and cache answer). */
    health: () => '/api/health',
    /** Readiness: database, cache, migrations current, a release served. */
    ready: () => '/api/ready',
    /** Prometheus metrics (a token, or private addresses only). */
    metrics: () => '/api/metrics',
    ghostWebhook: () => '/api/ghost/webhook',
  },
} as const;

type Paths = typeof linkPaths;
export type LinkGroup = keyof Paths;
type UrlsOf<T> = { readonly [K in keyof T]: T[K] extends (...args: infer A) => string ? (...args: A) => string : never };

/** A group's paths, plus `url`: the same links as absolute URLs on the group's host. */
export type GroupLinks<G extends LinkGroup> = Paths[G] & { readonly origin: string; readonly url: UrlsOf<Paths[G]> };

export type Links = { readonly [G in LinkGroup]: GroupLinks<G> } & {
  readonly siteUrl: string;
  /** The origin a part (or the site, the API, the provider) is served on. */
  origin(group: LinkGroup): string;
};

export interface LinkSettings {
  /** The site's origin (ROSE_SITE_URL, or the listen address). */
  readonly siteUrl: string;
  /** Parts on their own hosts (ROSE_PART_ORIGINS entries `part=origin`). */
  readonly partHosts?: Readonly<Partial<Record<Part, string>>>;
}

/** Parts that must stay on the site's origin: sign-in, account and provider pages (ADR 0007). */
export const siteOnlyParts: readonly Part[] = ['auth', 'account'];
const siteOnlyPattern = new RegExp(`^/(?:${siteOnlyParts.join('|')})(?:/|$|\\?)`);

/** Whether `path` is a sign-in, account or provider page (`/auth…`, `/account…`): those live on the site's origin. */
export function isSiteOnlyPath(path: string): boolean {
  return siteOnlyPattern.test(path);
}

/**
 * The links of every part for this configuration.
 *
 * @example
 * const links = createLinks({ siteUrl: 'https://coop.example', partHosts: { market: 'https://market.coop.example' } });
 * links.auth.login('/account/')      // '/auth/login?return_to=%2Faccount%2F'
 * links.auth.url.verify('abc')       // 'https://coop.example/auth/verify?token=abc'
 * links.market.url.home()            // 'https://market.coop.example/market/'
 */
export function createLinks(settings: LinkSettings): Links {
  const siteUrl = originOf(settings.siteUrl, 'the site URL (ROSE_SITE_URL)');
  const hosts = new Map<string, string>();
  for (const [part, origin] of Object.entries(settings.partHosts ?? {})) {
    if (origin === undefined) continue;
    if (!(parts as readonly string[]).includes(part)) {
      throw new ConfigError(`ROSE_PART_ORIGINS names "${part}", which is not a part.`, `Parts are ${parts.join(', ')}.`);
    }
    if (siteOnlyParts.includes(part as Part)) {
      throw new ConfigError(`ROSE_PART_ORIGINS gives "${part}" a host of its own, but sign-in and account pages live on the site's origin (ADR 0007).`, `Remove "${part}=…" from ROSE_PART_ORIGINS.`);
    }
    hosts.set(part, originOf(origin, `the origin of part "${part}" (ROSE_PART_ORIGINS)`));
  }
  const origin = (group: LinkGroup) => hosts.get(group) ?? siteUrl;
  const out: Record<string, unknown> = { siteUrl, origin };
  for (const group of Object.keys(linkPaths) as LinkGroup[]) {
    const paths = linkPaths[group] as Record<string, (...args: never[]) => string>;
    const groupOrigin = origin(group);
    const url = Object.fromEntries(Object.entries(paths).map(([name, fn]) => [name, (...args: never[]) => new URL(fn(...args), groupOrigin).toString()]));
    out[group] = Object.freeze({ ...paths, origin: groupOrigin, url: Object.freeze(url) });
  }
  return Object.freeze(out) as Links;
}

function originOf(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} is not a URL: "${value}".`, 'Give an origin like https://coop.example.org.');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError(`${what} must be an http(s) origin without a path: "${value}".`, 'Give an origin like https://coop.example.org.');
  }
  return url.origin;
}
