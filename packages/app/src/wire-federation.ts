import type { IncomingMessage } from 'node:http';
import type { Federation } from '@fedify/fedify';
import type { Kysely } from 'kysely';
import { receivedFromNode, requestOrigin, type Config } from '@rose/config';
import type { Clock, Links } from '@rose/core';
import type { Database } from '@rose/db';
import {
  createFederationFrontHandler,
  createJobsMessageQueue,
  createRoseFederation,
  createSocial,
  createSqlKvStore,
  desiredBlogObjects,
  ensurePartActors,
  federationSendHandlers,
  federationSyncHandlers,
  fedifyTaskHandlers,
  keylessQueue,
  withPrivateKeys,
  syncPartObjects,
  type Social,
  type SyncSummary,
} from '@rose/federation';
import type { BatchHandler } from '@rose/jobs';
import { loadSiteChrome } from '@rose/site-chrome';
import type { FrontHandler } from './services.ts';
import type { Logger } from './logger.ts';

/** ActivityPub: the federation in front of the site, the social hub's verbs, the worker's handlers. */
export interface FederationServices {
  /** Fedify, set up on first use (it makes the part actors and their keys if missing). */
  federation(): Promise<Federation<void>>;
  readonly social: Social;
  /** Brings the blog actor's Articles in line with the blog (Create/Update/Delete to followers). */
  syncBlog(): Promise<SyncSummary>;
  /** Answers ActivityPub, WebFinger and NodeInfo in front of the site. */
  readonly handle: FrontHandler;
  /** The outbox worker's handlers: our deliveries, Fedify's own tasks, part syncs. */
  jobHandlers(): Record<string, BatchHandler>;
}

const partSummaries: Record<string, (site: string) => string> = {
  blog: (site) => `Stories and news from ${site}.`,
  market: (site) => `New products and order cycles at ${site}.`,
  events: (site) => `Events at ${site}.`,
};

export function wireFederation(deps: { db: Kysely<Database>; config: Config; links: Links; clock: Clock; logger: Logger; onJobQueued: () => void }): FederationServices {
  const { db, config, links, clock, logger } = deps;
  if (config.federationAllowPrivateAddresses) logger.warn({}, 'ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES is on: ActivityPub may reach loopback and private addresses (tests only)');
  let memo: Promise<Federation<void>> | undefined;
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
          const name = `${site.title} · ${actor.handle[0]!.toUpperCase()}${actor.handle.slice(1)}`;
          return { name, summary: actor.summary || (partSummaries[actor.handle]?.(site.title) ?? site.description), iconUrl: links.site.url.favicon() };
        },
        software: { name: 'rose-ash', version: '0.1.0' },
        events: { onJobQueued: deps.onJobQueued },
      });
      await ensurePartActors(db, (part) => ({ name: part, summary: '' }));
      return built;
    })().catch((error: unknown) => {
      memo = undefined;
      throw error;
    }));
  const social = createSocial({ db, federation, siteUrl: config.siteUrl, clock, onJobQueued: deps.onJobQueued, hashtagUrl: (tag) => links.social.tag(tag), profilePath: (handle) => links.social.profile(handle) });
  const context = async () => (await federation()).createContext(new URL(config.siteUrl), undefined);
  const syncBlog = async () =>
    syncPartObjects({ db, ctx: await context(), clock }, 'blog', 'blog:', await desiredBlogObjects(db, { postUrl: (slug) => links.blog.url.post(slug), tagUrl: (slug) => links.blog.url.tag(slug) }));
  const handle = createFederationFrontHandler(federation, {
    origin: (req: IncomingMessage) => requestOrigin(config, receivedFromNode(req)) ?? config.siteUrl,
    onRefused: (reason, status) => logger.warn({ reason, status }, 'refused an ActivityPub delivery'),
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
    handle,
    jobHandlers: () => {
      return {
        ...federationSendHandlers(context),
        ...fedifyTaskHandlers(async (message) => (await federation()).processQueuedTask(undefined, await withPrivateKeys(message, await context()))),
        ...federationSyncHandlers(async (part) => {
          const summary = await syncBlog();
          logger.info({ part, ...summary }, 'federated objects in line with the part');
          return summary;
        }),
      };
    },
  };
}
