import path from 'node:path';
import { loadBlogSnapshot, loadSiteChrome, type BlogSnapshot } from '@rose/blog';
import { createCache, type Cache } from '@rose/cache';
import { loadConfig, receivedFromNode, requestOrigin, siteOriginRedirect, type Config } from '@rose/config';
import { err, ok, systemClock, type Clock, type Result } from '@rose/core';
import { createMigrations, openDatabase, type DatabaseHandle, type Migrations } from '@rose/db';
import { countJobs, type BatchHandler } from '@rose/jobs';
import { activeSigningKeyId, createOpenIdProvider, createSsoClient, endProviderSessions, ensurePartClients, verifyLogoutToken, listConnectedApps, revokeConnectedApp, type ConnectedApp, type OpenIdProvider, type SsoClient, type SsoError, type SsoState } from '@rose/oauth';
import { createAccountMailHandlers, createAccounts, createMailer, createSessions, generateSessionToken, type Accounts, type Mailer, type Sessions } from '@rose/auth';
import { createGhostAdminClient, createGhostContentClient, type GhostAdminClient, type GhostContentClient } from '@rose/ghost';
import { listPaidMembers, readMembersContent, setMemberTier, type MembersContent, type Reader } from '@rose/blog';
import type { MemberTier } from '@rose/db';
import { createFragments, type Fragments } from './fragments.ts';
import { createLogger, type Logger } from './logger.ts';

export interface HealthReport {
  status: 'ok' | 'degraded';
  /** `role` (embedded only): this process owns PGlite and shares it, or reaches its owner. */
  database: { status: 'up' | 'down'; kind: 'postgres' | 'pglite'; role?: 'owner' | 'client' | 'memory'; error?: string };
  cache: { status: 'up' | 'down'; kind: 'redis' | 'memory'; error?: string };
  /** Outbox backlog (when the database answers): pending jobs and jobs out of retries. */
  outbox?: { pending: number; failed: number };
}

export interface Services {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly cache: Cache;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly migrations: Migrations;
  readonly fragments: Fragments;
  /** Present when GHOST_URL and GHOST_CONTENT_KEY are set. */
  readonly ghost:
    | { readonly url: string; readonly content: GhostContentClient; readonly admin: GhostAdminClient | undefined; readonly webhookSecret: string | undefined }
    | undefined;
  readonly blog: {
    /** The blog snapshot, read fresh (dev; builds read theirs through readSiteSnapshot). */
    snapshot(): Promise<BlogSnapshot>;
    /** Site settings and navigation only: what the layout of a dynamic page needs. */
    chrome(): Promise<Pick<BlogSnapshot, 'site' | 'navigation'>>;
    /** The members-only part of a post for this reader (null: nobody signed in), read on demand. */
    membersContent(slug: string, reader: Reader): Promise<Result<MembersContent, { type: 'not-found' }>>;
    /** Staff mark a member as paying (or not); `paid` posts are for paying members. */
    setMemberTier(email: string, tier: MemberTier): Promise<Result<{ userId: string; previous: MemberTier }, { type: 'not-found' }>>;
    /** Ids of the accounts marked as paying members. */
    paidMembers(): Promise<Set<string>>;
  };
  /** `jobHandlers`: the outbox handlers of account mail, for every worker to register. */
  readonly auth: { readonly sessions: Sessions; readonly accounts: Accounts; readonly mailer: Mailer; readonly jobHandlers: Record<string, BatchHandler> };
  /** Single sign-on for parts served on other hosts than the provider's (ROSE_SITE_URL). */
  readonly sso: {
    start: SsoClient['start'];
    /** Verifies the provider's answer and opens a local session on this host. */
    finish(callbackUrl: URL, saved: SsoState | undefined, meta: { userAgent: string | null; ip: string }): Promise<Result<{ token: string; expiresAt: Date; returnTo: string }, SsoError | { type: 'unknown-account' }>>;
  };
  /** Handles an OpenID back-channel logout token sent to a part; ends that user's sessions. */
  backchannelLogout(token: string): Promise<boolean>;
  /** Third-party applications a user allowed, for the account page. */
  readonly connectedApps: { list(userId: string): Promise<ConnectedApp[]>; revoke(userId: string, grantId: string): Promise<boolean> };
  /** The OpenID provider under /auth, created on first use (it loads or creates signing keys). */
  oidc(): Promise<OpenIdProvider>;
  /**
   * Re-creates the provider when `rose oauth keys rotate` made a new key active (state lives
   * in the database, so nothing in flight is lost). Resolves true when it did.
   */
  reloadOidcIfKeysChanged(): Promise<boolean>;
  /** Wakes an in-process outbox worker right after a job was queued (no-op without one). */
  readonly jobs: { wake(): void; setWaker(waker: (() => void) | undefined): void };
  health(): Promise<HealthReport>;
  close(): Promise<void>;
}

export interface CreateServicesOptions {
  logger?: Logger;
  clock?: Clock;
}

/**
 * Wires everything for the server, the CLI and tests from one validated config.
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
  const cache = createCache(config.cache);
  const migrations = createMigrations(database.db, path.join(config.root, 'migrations'));
  const fragments = createFragments({ cache, logger, ttlSeconds: config.fragmentTtlSeconds, clock });
  let waker: (() => void) | undefined;
  let oidcMemo: Promise<OpenIdProvider> | undefined;
  let oidcKid: string | undefined;
  const loadOidc = async (): Promise<OpenIdProvider> => {
    try {
      await ensurePartClients(database.db, config.partOrigins);
      const provider = await createOpenIdProvider({
        db: database.db,
        siteUrl: config.siteUrl,
        secret: process.env.ASTRO_KEY ?? config.dataDir,
        findAccount: async (id) => {
          const u = await database.db.selectFrom('users').select(['id', 'email', 'display_name', 'email_verified_at']).where('id', '=', id).executeTakeFirst();
          return u ? { id: u.id, email: u.email, displayName: u.display_name, emailVerified: u.email_verified_at !== null } : undefined;
        },
        onSignedOut: async (accountId) => {
          await sessions.invalidateAllForUser(accountId);
        },
        // The provider answers on the site's origin only, not on the parts' hosts.
        misdirected: (req) => {
          const received = receivedFromNode(req);
          return siteOriginRedirect({ siteUrl: config.siteUrl, partOrigins: [] }, { ...received, origin: requestOrigin(config, received) });
        },
        currentUser: async (req) => {
          const token = /(?:^|;\s*)rose_session=([a-z2-7]{32})/.exec(req.headers.cookie ?? '')?.[1];
          const valid = token ? await sessions.validate(token) : null;
          return valid ? { id: valid.user.id, email: valid.user.email, displayName: valid.user.displayName, emailVerified: valid.user.emailVerified } : undefined;
        },
      });
      oidcKid = await activeSigningKeyId(database.db);
      return provider;
    } catch (error) {
      oidcMemo = undefined;
      throw error;
    }
  };
  const ssoClient = createSsoClient({ db: database.db, issuer: new URL('/auth', config.siteUrl).toString().replace(/\/$/, '') });
  // A sign-out also ends the user's sessions at the OpenID provider, so no part signs them
  // back in silently.
  const sessions = createSessions({ db: database.db, cache, clock, onUserSignedOut: async (userId) => void (await endProviderSessions(database.db, userId)) });
  const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, dataDir: config.dataDir, log: (msg, fields) => logger.info(fields, msg) });
  const accounts = createAccounts({ db: database.db, sessions, cache, clock, onJobQueued: () => waker?.() });
  // Account mail is written and sent by the outbox worker, greeting with the site's name.
  const accountMail = createAccountMailHandlers({ db: database.db, mailer, siteUrl: config.siteUrl, clock, siteName: async () => (await loadSiteChrome(database.db)).site.title });
  const ghost = config.ghost
    ? {
        url: config.ghost.url,
        content: createGhostContentClient({ url: config.ghost.url, key: config.ghost.contentKey }),
        admin: config.ghost.adminKey ? createGhostAdminClient({ url: config.ghost.url, adminKey: config.ghost.adminKey }) : undefined,
        webhookSecret: config.ghost.webhookSecret,
      }
    : undefined;

  return {
    config,
    database,
    cache,
    logger,
    clock,
    migrations,
    fragments,
    ghost,
    auth: { sessions, accounts, mailer, jobHandlers: accountMail },
    sso: {
      start: (origin, returnTo) => ssoClient.start(origin, returnTo),
      async finish(callbackUrl, saved, meta) {
        const result = await ssoClient.finish(callbackUrl, saved);
        if (!result.ok) return result;
        const user = await database.db.selectFrom('users').select('id').where('id', '=', result.value.sub).executeTakeFirst();
        if (!user) return err({ type: 'unknown-account' as const });
        const token = generateSessionToken();
        const session = await sessions.create(token, user.id, meta);
        return ok({ token, expiresAt: session.expiresAt, returnTo: saved!.returnTo });
      },
    },
    async backchannelLogout(token) {
      const verified = await verifyLogoutToken(database.db, new URL('/auth', config.siteUrl).toString().replace(/\/$/, ''), token);
      if (!verified.ok) {
        logger.warn({ reason: verified.error.message }, 'back-channel logout token refused');
        return false;
      }
      await sessions.invalidateAllForUser(verified.value.sub);
      return true;
    },
    connectedApps: {
      list: (userId) => listConnectedApps(database.db, userId),
      revoke: (userId, grantId) => revokeConnectedApp(database.db, userId, grantId),
    },
    async reloadOidcIfKeysChanged() {
      if (!oidcMemo) return false;
      const active = await activeSigningKeyId(database.db);
      if (!active || active === oidcKid) return false;
      oidcMemo = loadOidc();
      await oidcMemo;
      logger.info({ kid: active }, 'OpenID provider now signs with a new key');
      return true;
    },
    oidc() {
      oidcMemo ??= loadOidc();
      return oidcMemo;
    },
    jobs: {
      wake: () => waker?.(),
      setWaker: (fn) => {
        waker = fn;
      },
    },
    blog: {
      snapshot: () => loadBlogSnapshot(database.db),
      chrome: () => loadSiteChrome(database.db),
      membersContent: (slug, reader) => readMembersContent(database.db, slug, reader),
      setMemberTier: (email, tier) => setMemberTier(database.db, email, tier, { clock }),
      paidMembers: () => listPaidMembers(database.db),
    },
    async health() {
      const [db, c] = await Promise.allSettled([database.ping(), cache.ping()]);
      const report: HealthReport = {
        status: db.status === 'fulfilled' && c.status === 'fulfilled' ? 'ok' : 'degraded',
        database: {
          ...(db.status === 'fulfilled' ? { status: 'up' as const } : { status: 'down' as const, error: reason(db.reason) }),
          kind: database.kind,
          ...(database.embedded ? { role: database.embedded.role } : {}),
        },
        cache: c.status === 'fulfilled' ? { status: 'up', kind: cache.kind } : { status: 'down', kind: cache.kind, error: reason(c.reason) },
      };
      if (report.database.status === 'up') {
        const counts = await countJobs(database.db).catch(() => undefined);
        if (counts) report.outbox = { pending: counts.pending, failed: counts.failed };
      }
      return report;
    },
    async close() {
      await Promise.allSettled([cache.close(), database.close()]);
    },
  };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const KEY = Symbol.for('rose.services');
type Holder = { [KEY]?: Promise<Services> | undefined };

/**
 * The services of this process. The CLI provides them (`provideServices`) before it builds
 * or serves; a server started without the CLI (e.g. `node dist/server/entry.mjs`) creates
 * them from the environment on first use. On globalThis because Astro bundles its own copy
 * of this module.
 */
export function getServices(): Promise<Services> {
  const holder = globalThis as Holder;
  holder[KEY] ??= createServices(loadConfig(process.env, { root: process.env.ROSE_ROOT ?? process.cwd() }));
  return holder[KEY];
}

export function provideServices(services: Promise<Services> | Services | undefined): void {
  (globalThis as Holder)[KEY] = services === undefined ? undefined : Promise.resolve(services);
}
