import type { IncomingMessage } from 'node:http';
import type { Federation } from '@fedify/fedify';
import type { Kysely } from 'kysely';
import { isTrustedProxy, receivedFromNode, requestOrigin, type Config } from '@rose/config';
import type { Cache } from '@rose/cache';
import { escapeXml, type Clock, type Links } from '@rose/core';
import type { Database } from '@rose/db';
import {
  createFederationFrontHandler,
  inboxAdmission,
  createJobsMessageQueue,
  createRoseFederation,
  createSocial,
  createSqlKvStore,
  ensurePartActors,
  federationProfileHandlers,
  federationSendHandlers,
  federationSyncHandlers,
  fedifyTaskHandlers,
  keylessQueue,
  purgeExpired,
  pruneInboxLog,
  withPrivateKeys,
  syncPartObjects,
  type DesiredObject,
  type FederationData,
  type Social,
  type SyncSummary,
} from '@rose/federation';
import type { BatchHandler } from '@rose/jobs';
import { listFederatedPosts, type FederatedPost } from '@rose/blog';
import { listFederatedMarket, type FederatedMarket } from '@rose/market';
import { loadSiteChrome } from '@rose/site-chrome';
import type { FrontHandler } from './services.ts';
import type { Logger } from './logger.ts';

/** ActivityPub: the federation in front of the site, the social hub's verbs, the worker's handlers. */
export interface FederationServices {
  /** Fedify, set up on first use (it makes the part actors and their keys if missing). */
  federation(): Promise<Federation<FederationData>>;
  readonly social: Social;
  /** Brings the blog actor's Articles in line with the blog (Create/Update/Delete to followers). */
  syncBlog(): Promise<SyncSummary>;
  /** Brings the market actor's posts (products, order cycles) in line with the market. */
  syncMarket(): Promise<SyncSummary>;
  /** Answers ActivityPub, WebFinger and NodeInfo in front of the site. */
  readonly handle: FrontHandler;
  /** The outbox worker's handlers: our deliveries, Fedify's own tasks, part syncs. */
  jobHandlers(): Record<string, BatchHandler>;
}

/**
 * How long one Fedify task (a fan-out, or one delivery with its retry signature) may take:
 * Fedify's deliveries have no time limit of their own, and an inbox that never answers would
 * hold the task until the worker's deadline. Past it the task fails and is retried.
 */
const taskTimeoutMs = 60_000;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a federation task took longer than ${ms / 1000} s; it will be retried`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Who is delivering: the connecting address, or behind a trusted proxy the address it forwarded for. */
function deliverySender(config: Config) {
  return (req: IncomingMessage): string | undefined => {
    const direct = req.socket.remoteAddress;
    const forwarded = req.headers['x-forwarded-for'];
    if (!forwarded || !isTrustedProxy(config.trustedProxies, direct)) return direct;
    // The proxy appends the address it saw: the last entry.
    return [forwarded].flat().join(',').split(',').map((a) => a.trim()).filter(Boolean).at(-1) ?? direct;
  };
}

const partSummaries: Record<string, (site: string) => string> = {
  blog: (site) => `Stories and news from ${site}.`,
  market: (site) => `New products and order cycles at ${site}.`,
  events: (site) => `Events at ${site}.`,
};

export function wireFederation(deps: { db: Kysely<Database>; config: Config; links: Links; clock: Clock; logger: Logger; cache: Cache; onJobQueued: () => void }): FederationServices {
  const { db, config, links, clock, logger } = deps;
  if (config.federationAllowPrivateAddresses) logger.warn({}, 'ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES is on: ActivityPub may reach loopback and private addresses (tests only)');
  let memo: Promise<Federation<FederationData>> | undefined;
  const federation = () =>
    (memo ??= (async () => {
      const built = createRoseFederation({
        db,
        kv: createSqlKvStore(db, { clock }),
        // Queued deliveries keep key ids only; the worker puts the private keys back.
        queue: keylessQueue(createJobsMessageQueue(db, { onEnqueued: deps.onJobQueued })),
        siteUrl: config.siteUrl,
        clock,
        logger,
        allowPrivateAddress: config.federationAllowPrivateAddresses,
        profileUrl: (handle) => links.social.url.profile(handle),
        describe: async (actor) => {
          if (actor.kind === 'member') return { name: actor.displayName, summary: actor.summary };
          const { site } = await loadSiteChrome(db);
          return { name: actor.displayName, summary: actor.summary || (partSummaries[actor.handle]?.(site.title) ?? site.description), ...(site.icon ? { iconUrl: new URL(site.icon, config.siteUrl).href } : {}) };
        },
        software: { name: 'rose-ash', version: '0.1.0' },
        events: { onJobQueued: deps.onJobQueued },
      });
      const { site } = await loadSiteChrome(db);
      await ensurePartActors(db, (part) => ({ name: `${site.title} · ${part[0]!.toUpperCase()}${part.slice(1)}`, summary: partSummaries[part]?.(site.title) ?? '' }));
      return built;
    })().catch((error: unknown) => {
      memo = undefined;
      throw error;
    }));
  const social = createSocial({ db, federation, siteUrl: config.siteUrl, clock, onJobQueued: deps.onJobQueued, hashtagUrl: (tag) => links.social.tag(tag), profilePath: (handle) => links.social.profile(handle), allowPrivateAddress: config.federationAllowPrivateAddresses });
  const context = async () => (await federation()).createContext(new URL(config.siteUrl), {});
  const syncBlog = async () =>
    syncPartObjects({ db, ctx: await context(), clock }, 'blog', 'blog:', desiredBlogObjects(await listFederatedPosts(db), links));
  const syncMarket = async () => syncPartObjects({ db, ctx: await context(), clock }, 'market', 'market:', desiredMarketObjects(await listFederatedMarket(db), links));
  const handle = createFederationFrontHandler(federation, {
    origin: (req: IncomingMessage) => requestOrigin(config, receivedFromNode(req)) ?? config.siteUrl,
    onRefused: (reason, status) => logger.warn({ reason, status }, 'refused an ActivityPub delivery'),
    ...(config.federationInboxPerMinute > 0
      ? { admit: inboxAdmission(deps.cache, { perMinute: config.federationInboxPerMinute, sender: deliverySender(config), onError: (error) => logger.warn({ err: error }, 'could not count inbox deliveries; let it in') }) }
      : {}),
    // A browser opening an actor id sees the profile page; an object's, the page it came from.
    htmlPage: async (url) => {
      const parsed = (await context()).parseUri(url);
      if (parsed?.type === 'actor') return (await social.actor(parsed.identifier)) ? links.social.profile(parsed.identifier) : undefined;
      if (parsed?.type === 'object' && parsed.values.id) return (await social.objectPage(parsed.values.id)) ?? undefined;
      return undefined;
    },
  });
  return {
    federation,
    social,
    syncBlog,
    syncMarket,
    handle,
    jobHandlers: () => {
      // Fedify caches every remote document it fetches for a while and may never read it
      // again: expired entries go, at most once an hour, from the worker that runs its tasks —
      // with inbox log entries that changed nothing, after a month.
      let lastPurge = 0;
      const purgeNow = () => {
        if (clock.now().getTime() - lastPurge < 3_600_000) return;
        lastPurge = clock.now().getTime();
        void Promise.all([purgeExpired(db, { clock }), pruneInboxLog(db, clock.now())]).catch((error: unknown) => logger.warn({ err: error }, 'could not purge expired federation cache entries or old inbox log entries'));
      };
      return {
        ...federationSendHandlers(context),
        ...federationProfileHandlers(federation, context),
        ...fedifyTaskHandlers(async (message) => {
          purgeNow();
          const fed = await federation();
          await within(taskTimeoutMs, fed.processQueuedTask({}, await withPrivateKeys(message, await context())));
        }),
        ...federationSyncHandlers(async (part) => {
          const summary = part === 'market' ? await syncMarket() : await syncBlog();
          logger.info({ part, ...summary }, 'federated objects in line with the part');
          return summary;
        }),
      };
    },
  };
}

/**
 * The blog actor's Articles: each public post, its public tags as hashtags (their names
 * without spaces or punctuation), its feature image as an absolute URL.
 */
export function desiredBlogObjects(posts: FederatedPost[], links: Links): DesiredObject[] {
  return posts.map((p) => {
    const url = links.blog.url.post(p.slug);
    const tags = p.tags.flatMap((t) => {
      const name = t.name.replace(/[^\p{L}\p{N}_]/gu, '');
      return name ? [{ type: 'Hashtag' as const, name: `#${name}`, href: links.blog.url.tag(t.slug) }] : [];
    });
    return { source: `blog:${p.id}`, type: 'Article', name: p.title, summary: null, contentHtml: p.html, url, tags, extra: p.featureImage ? { image: new URL(p.featureImage, url).href } : {}, publishedAt: p.publishedAt };
  });
}

/**
 * What the market actor publishes: each product on offer (a Note naming it, its producer and
 * its page) and each order cycle (an Event from opening to closing). Prices and stock stay
 * out: they change often and live on the pages.
 */
export function desiredMarketObjects(market: FederatedMarket, links: Links): DesiredObject[] {
  const productObjects: DesiredObject[] = market.products.map((p) => ({
    source: `market:product:${p.id}`,
    type: 'Note',
    name: null,
    summary: null,
    contentHtml: `<p>New at the market: <a href="${escapeXml(links.market.url.product(p.slug))}">${escapeXml(p.name)}</a> from <a href="${escapeXml(links.market.url.producer(p.producer.slug))}">${escapeXml(p.producer.name)}</a>.</p>${p.description ? `<p>${escapeXml(p.description)}</p>` : ''}`,
    url: links.market.url.product(p.slug),
    tags: [],
    extra: {},
    publishedAt: p.createdAt,
  }));
  const cycleObjects: DesiredObject[] = market.cycles.map((c) => ({
    source: `market:cycle:${c.id}`,
    type: 'Event',
    name: c.name,
    summary: null,
    contentHtml: `<p>${escapeXml(c.name)}: orders open from ${c.opensAt.toISOString()} to ${c.closesAt.toISOString()}.</p>${c.note ? `<p>${escapeXml(c.note)}</p>` : ''}`,
    url: links.market.url.home(),
    tags: [],
    extra: { startTime: c.opensAt.toISOString(), endTime: c.closesAt.toISOString() },
    publishedAt: c.createdAt,
  }));
  return [...productObjects, ...cycleObjects];
}
