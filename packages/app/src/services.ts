import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { createAccountMailHandlers, createAccounts, createSessions, type Accounts, type Sessions } from '@rose/auth';
import { listPaidMembers, loadBlogSnapshot, readMembersContent, seedContent, seedContentWithImages, setMemberTier, type BlogSnapshot, type ContentBundle, type MembersContent, type Reader, type SeedSummary } from '@rose/blog';
import { createCache, type Cache } from '@rose/cache';
import type { Config } from '@rose/config';
import { createLinks, systemClock, type Clock, type Links, type Result } from '@rose/core';
// The history reader alone: this module is in the pages' bundle, the deploy machinery is not.
import { summariseDeploys } from '@rose/deploy/history';
import { createMigrations, openDatabase, type DatabaseHandle, type MemberTier, type Migrations } from '@rose/db';
import { countJobs, oldestPendingJobAge, type BatchHandler, type JobCounts, type Worker } from '@rose/jobs';
import { createMailer, type Mailer } from '@rose/mail';
import { imageCacheDir, readMediaFiles } from '@rose/media';
import { endProviderSessions } from '@rose/oauth';
import { checkReadiness, createMetrics, createOperationsHandler, type Metrics, type ReadinessReport } from '@rose/observability';
import { loadSiteChrome, type SiteChrome } from '@rose/site-chrome';
import { createFragments, type Fragments } from './fragments.ts';
import { createLogger, type Logger } from './logger.ts';
import { startOutboxWorker, type OutboxWorkerOptions } from './outbox-worker.ts';
import { wireGhost, type GhostServices } from './wire-ghost.ts';
import { wireOAuth, type OAuthServices } from './wire-oauth.ts';
import { wireMarket, type MarketServices } from './wire-market.ts';
import { wireFederation, type FederationServices } from './wire-federation.ts';

/** The release a server in this process serves, as `rose serve` tells the services. */
export interface ServedRelease {
  id: string;
  /** Its folder (`<dist>/releases/<id>`). */
  dir: string;
  /** From its manifest, when it has one (a rebuild's pages served before it is complete have none yet). */
  buildSeconds?: number;
  buildKind?: string;
}

export interface Services {
  readonly config: Config;
  /** Paths and absolute URLs of every part, on the hosts the config gives them. */
  readonly links: Links;
  /**
   * Which database this process uses (never the connection: parts use the verbs below), and
   * on the embedded one `listen`, which the outbox worker wakes up with.
   */
  readonly database: Pick<DatabaseHandle, 'kind' | 'embedded' | 'listen'>;
  readonly cache: Cache;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly migrations: Migrations;
  readonly fragments: Fragments;
  /** The blog's Ghost connection (`configured` false without GHOST_URL). */
  readonly ghost: GhostServices;
  /** What every part's pages show around their content. */
  readonly site: {
    /** Site settings and navigation: what the layout of a page rendered on demand needs. */
    chrome(): Promise<SiteChrome>;
  };
  readonly blog: {
    /** The blog snapshot, read fresh (dev; builds read theirs through the build pipeline). */
    snapshot(): Promise<BlogSnapshot>;
    /** The members-only part of a post for this reader (null: nobody signed in), read on demand. */
    membersContent(slug: string, reader: Reader): Promise<Result<MembersContent, { type: 'not-found' }>>;
    /** Staff mark a member as paying (or not); `paid` posts are for paying members. */
    setMemberTier(email: string, tier: MemberTier): Promise<Result<{ userId: string; previous: MemberTier }, { type: 'not-found' }>>;
    /** Ids of the accounts marked as paying members. */
    paidMembers(): Promise<Set<string>>;
    /** Bytes of stored media files (content images and their variants), by name. */
    mediaFiles(names: string[]): Promise<Map<string, Uint8Array>>;
    /**
     * Loads a validated content bundle in one transaction, as `rose db seed` does; with
     * `contentDir`, the images of its `images/` that posts refer to too.
     */
    seed(bundle: ContentBundle, opts?: { prune?: boolean; contentDir?: string }): Promise<SeedSummary>;
  };
  /** The market: its snapshot, live stock, staff verbs, seeding. */
  readonly market: MarketServices;
  /** `jobHandlers`: the outbox handlers of account mail, for every worker to register. */
  readonly auth: { readonly sessions: Sessions; readonly accounts: Accounts; readonly mailer: Mailer; readonly jobHandlers: Record<string, BatchHandler> };
  /** The OpenID provider, its clients and keys, connected apps, single sign-on. */
  readonly oauth: OAuthServices;
  /** ActivityPub: actors for the parts and members, the social hub, deliveries. */
  readonly federation: FederationServices;
  /**
   * What answers before the site (Astro) sees a request, in order: the OpenID provider under
   * /auth, then ActivityPub, WebFinger and NodeInfo. `rose serve` and `rose dev` both use this list.
   */
  readonly frontHandlers: readonly FrontHandler[];
  /**
   * Metrics and readiness (`/api/metrics`, `/api/ready`, answered by a front handler). The
   * server says which release it serves (`setServedRelease`); without one (rose dev, the
   * CLI) the process is not ready.
   */
  readonly observability: {
    readonly metrics: Metrics;
    setServedRelease(served: (() => ServedRelease | undefined) | undefined): void;
    readiness(): Promise<ReadinessReport>;
  };
  readonly jobs: {
    /** Wakes an in-process outbox worker right after a job was queued (no-op without one). */
    wake(): void;
    setWaker(waker: (() => void) | undefined): void;
    counts(): Promise<JobCounts>;
    /** Drains the outbox in this process: every part's handlers (rebuilds need `siteBuild`). */
    startWorker(opts?: OutboxWorkerOptions): Worker;
  };
  close(): Promise<void>;
}

/** Answers a request in front of the site and returns true, or returns false having written nothing. */
export type FrontHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Runs the handlers in order until one answers; false when none did (the site answers then). */
export async function answerInFront(handlers: readonly FrontHandler[], req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  for (const handler of handlers) if (await handler(req, res)) return true;
  return false;
}

export interface CreateServicesOptions {
  logger?: Logger;
  clock?: Clock;
}

/**
 * Wires everything for the server, the CLI and tests from one validated config: one wiring
 * module per part (wire-ghost, wire-oauth, wire-site, …) over one database and cache.
 *
 * @example
 * const services = await createServices(loadConfig(process.env, { root }));
 * const snapshot = await services.blog.snapshot();
 * await services.close();
 */
export async function createServices(config: Config, opts: CreateServicesOptions = {}): Promise<Services> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const clock = opts.clock ?? systemClock;
  const database = await openDatabase(config.database);
  const db = database.db;
  const cache = createCache(config.cache);
  const migrations = createMigrations(db, path.join(config.root, 'migrations'));
  const metrics = createMetrics({
    outbox: async () => {
      const now = clock.now();
      const [counts, oldestPendingSeconds] = await Promise.all([countJobs(db, now), oldestPendingJobAge(db, now)]);
      return { ...counts, oldestPendingSeconds };
    },
    // Deploys run in another process (`rose deploy`) and are recorded in the database.
    deploys: () => summariseDeploys(db),
  });
  let served: (() => ServedRelease | undefined) | undefined;
  metrics.setSource('servedRelease', async () => {
    const release = served?.();
    return release && { id: release.id, ...(release.buildSeconds !== undefined ? { buildSeconds: release.buildSeconds } : {}), ...(release.buildKind ? { buildKind: release.buildKind } : {}) };
  });
  const fragments = createFragments({ cache, logger, ttlSeconds: config.fragmentTtlSeconds, clock, onLookup: (component, hit) => metrics.islandLookup(component, hit) });
  let waker: (() => void) | undefined;
  const wake = () => waker?.();
  // A sign-out also ends the user's sessions at the OpenID provider, so no part signs them
  // back in silently.
  const sessions = createSessions({ db, cache, clock, onUserSignedOut: async (userId) => void (await endProviderSessions(db, userId)) });
  const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, dataDir: config.dataDir, log: (msg, fields) => logger.info(fields, msg) });
  const accounts = createAccounts({ db, sessions, cache, clock, onJobQueued: wake, onLoginFailed: (reason) => metrics.loginFailed(reason) });
  // Account mail is written and sent by the outbox worker, greeting with the site's name.
  const accountMail = createAccountMailHandlers({ db, mailer, siteUrl: config.siteUrl, clock, siteName: async () => (await loadSiteChrome(db)).site.title });
  const ghost = wireGhost({ db, config, clock, onJobQueued: wake });
  const oauth = wireOAuth({ db, config, sessions, logger });
  const links = createLinks({ siteUrl: config.siteUrl, partHosts: config.partHosts });
  const federation = wireFederation({ db, config, links, clock, logger, cache, onJobQueued: wake });
  const market = wireMarket({ db, clock, fragments, locale: async () => (await loadSiteChrome(db)).site.locale, onJobQueued: wake, contentDir: config.contentDir, imageCacheDir: imageCacheDir(config.root) });
  const readiness = () =>
    checkReadiness({
      database: () => database.ping(),
      cache: () => cache.ping(),
      migrations: () => migrations.assertCurrent(),
      served: async () => {
        const release = served?.();
        if (!release) return { id: undefined, problem: 'this process serves no release (`rose serve` does; `rose dev` and the CLI do not)' };
        const present = await fs.stat(release.dir).then((stat) => stat.isDirectory(), () => false);
        return present ? { id: release.id } : { id: release.id, problem: `the folder of release ${release.id} is gone (${release.dir})` };
      },
    });
  const operations = createOperationsHandler({ readiness, metrics, access: { token: config.metricsToken }, logger });

  const services: Services = {
    config,
    links,
    database: { kind: database.kind, embedded: database.embedded, listen: database.listen },
    cache,
    logger,
    clock,
    migrations,
    fragments,
    ghost,
    market,
    auth: { sessions, accounts, mailer, jobHandlers: accountMail },
    oauth,
    federation,
    frontHandlers: [operations, oauth.handle, federation.handle],
    observability: {
      metrics,
      setServedRelease: (provider) => {
        served = provider;
      },
      readiness,
    },
    jobs: {
      wake,
      setWaker: (fn) => {
        waker = fn;
      },
      counts: () => countJobs(db, clock.now()),
      startWorker: (workerOpts = {}) => startOutboxWorker({ db, services }, workerOpts),
    },
    site: { chrome: () => loadSiteChrome(db) },
    blog: {
      snapshot: () => loadBlogSnapshot(db),
      membersContent: (slug, reader) => readMembersContent(db, slug, reader),
      setMemberTier: (email, tier) => setMemberTier(db, email, tier, { clock }),
      paidMembers: () => listPaidMembers(db),
      mediaFiles: (names) => readMediaFiles(db, names),
      seed: (bundle, { contentDir, ...seedOpts } = {}) =>
        contentDir ? seedContentWithImages(db, contentDir, bundle, { clock, imageCacheDir: imageCacheDir(config.root), ...seedOpts }) : seedContent(db, bundle, { clock, ...seedOpts }),
    },
    async close() {
      await Promise.allSettled([cache.close(), database.close()]);
    },
  };
  return services;
}

