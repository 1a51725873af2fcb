import robotsParserExport from 'robots-parser';
import type { HostAllowList, PageFetcher } from '@rose/http';
import type { HostLimiter } from './host-limiter.ts';

interface Robot {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}
type ParseRobots = (url: string, contents: string) => Robot;
// robots-parser is CommonJS (module.exports = fn) typed as an ES default export: depending on
// who loads it, the default import is the function or an object holding it.
const loadedParser = robotsParserExport as unknown as ParseRobots | { default: ParseRobots };
const robotsParser: ParseRobots = typeof loadedParser === 'function' ? loadedParser : loadedParser.default;

/** What a site's robots.txt says about one URL. */
export type RobotsVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: 'disallowed' | 'unreachable' | 'crawl-delay'; readonly message: string };

/** A host's robots.txt as read once per run. */
type HostRules =
  | { readonly kind: 'rules'; readonly robot: Robot; readonly crawlDelayMs: number | undefined }
  | { readonly kind: 'allow-all' }
  | { readonly kind: 'closed'; readonly reason: 'unreachable' | 'crawl-delay'; readonly message: string };

export interface RobotsOptions {
  readonly fetcher: PageFetcher;
  /** Hosts the robots.txt may redirect within (the supplier's). */
  readonly allowedHosts: HostAllowList;
  /** Robots fetches go through it, and a Crawl-delay raises its interval for the host. */
  readonly limiter?: HostLimiter;
  /** A Crawl-delay above this keeps us off the host for the run (we will not crawl slower). Default 60 000. */
  readonly maxCrawlDelayMs?: number;
  readonly signal?: AbortSignal;
}

export interface RobotsRules {
  /** Whether we may fetch `url`; reads the host's robots.txt the first time. */
  check(url: URL): Promise<RobotsVerdict>;
  /** The Crawl-delay the host asks of us, in ms, once its robots.txt has been read. */
  crawlDelayMs(url: URL): Promise<number | undefined>;
  /** The Sitemap lines of the host's robots.txt. */
  sitemaps(url: URL): Promise<string[]>;
}

const robotsMaxBytes = 512 * 1024;

/**
 * robots.txt for one run: each host's file is fetched once (the first time a URL on it is
 * checked) and applied to our User-Agent's product token (`RoseAsh-MarketBot`). As Google does:
 * a missing file (4xx) allows everything; a failing one (5xx, 429, unreachable, too large)
 * keeps us off the host for the run; Disallow/Allow are honoured, and a Crawl-delay raises the
 * limiter's interval for the host.
 *
 * @example
 * const robots = createRobots({ fetcher, allowedHosts: supplier.allowedHosts, limiter });
 * const verdict = await robots.check(new URL(url));
 */
export function createRobots(options: RobotsOptions): RobotsRules {
  const token = options.fetcher.userAgent.split('/')[0]!.trim();
  const maxCrawlDelayMs = options.maxCrawlDelayMs ?? 60_000;
  const hosts = new Map<string, Promise<HostRules>>();

  const rulesFor = (url: URL): Promise<HostRules> => {
    let rules = hosts.get(url.origin);
    if (!rules) {
      rules = read(url);
      hosts.set(url.origin, rules);
    }
    return rules;
  };

  async function read(url: URL): Promise<HostRules> {
    const robotsUrl = `${url.origin}/robots.txt`;
    const fetch = () => options.fetcher.fetchText({ url: robotsUrl, accept: ['*/*'], allowedHosts: options.allowedHosts, maxBytes: robotsMaxBytes, signal: options.signal });
    const result = await (options.limiter ? options.limiter.run(url.host, fetch, options.signal) : fetch());
    switch (result.kind) {
      case 'ok': {
        const robot = robotsParser(robotsUrl, result.text);
        const delay = robot.getCrawlDelay(token);
        const crawlDelayMs = delay === undefined || !(delay > 0) ? undefined : Math.round(delay * 1000);
        if (crawlDelayMs !== undefined && crawlDelayMs > maxCrawlDelayMs) {
          return { kind: 'closed', reason: 'crawl-delay', message: `${robotsUrl} asks for a Crawl-delay of ${delay} s, more than the ${maxCrawlDelayMs / 1000} s we wait; ${url.host} was not crawled this run` };
        }
        if (crawlDelayMs !== undefined) options.limiter?.setCrawlDelay(url.host, crawlDelayMs);
        return { kind: 'rules', robot, crawlDelayMs };
      }
      case 'not-modified':
        return { kind: 'allow-all' };
      case 'refused':
        // No robots.txt (404, 410, even 401/403) means no rules. A server failing or refusing
        // to say (5xx, 429, no answer) might be hiding rules: stay away this run.
        if (result.reason === 'http-status' && result.status !== undefined && result.status >= 400 && result.status < 500 && result.status !== 429) return { kind: 'allow-all' };
        return { kind: 'closed', reason: 'unreachable', message: `${robotsUrl} could not be read (${result.message.replace(`${result.url}: `, '').replace(/; the page was skipped$/, '')}); ${url.host} was not crawled this run` };
    }
  }

  return {
    async check(url) {
      const rules = await rulesFor(url);
      switch (rules.kind) {
        case 'allow-all':
          return { allowed: true };
        case 'closed':
          return { allowed: false, reason: rules.reason, message: rules.message };
        case 'rules':
          // robots-parser answers undefined for another origin, which cannot happen here.
          return rules.robot.isAllowed(url.toString(), token) === false
            ? { allowed: false, reason: 'disallowed', message: `${url.toString()}: ${url.origin}/robots.txt disallows it for ${token}` }
            : { allowed: true };
      }
    },
    async crawlDelayMs(url) {
      const rules = await rulesFor(url);
      return rules.kind === 'rules' ? rules.crawlDelayMs : undefined;
    },
    async sitemaps(url) {
      const rules = await rulesFor(url);
      return rules.kind === 'rules' ? rules.robot.getSitemaps() : [];
    },
  };
}
