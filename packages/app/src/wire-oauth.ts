import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import type { Sessions } from '@rose/auth';
import { generateSessionToken } from '@rose/auth';
import { receivedFromNode, requestOrigin, siteOriginRedirect, type Config } from '@rose/config';
import { createLinks, type Result } from '@rose/core';
import type { Database } from '@rose/db';
import {
  activeSigningKeyId,
  addClient,
  createOpenIdProvider,
  createSsoClient,
  ensurePartClients,
  finishSsoSignIn,
  handleBackchannelLogout,
  listClients,
  listConnectedApps,
  removeClient,
  revokeConnectedApp,
  rotateSigningKey,
  type ClientError,
  type ConnectedApp,
  type LocalSessions,
  type NewClient,
  type OpenIdProvider,
  type SsoClient,
  type SsoError,
  type SsoState,
} from '@rose/oauth';
import type { Logger } from './logger.ts';

/** The OpenID provider and the single sign-on client of this site, as verbs. */
export interface OAuthServices {
  /** The provider under /auth, created on first use (it loads or creates signing keys). */
  provider(): Promise<OpenIdProvider>;
  /**
   * Re-creates the provider when `rose oauth keys rotate` made a new key active (state lives
   * in the database, so nothing in flight is lost). Resolves true when it did.
   */
  reloadIfKeysChanged(): Promise<boolean>;
  readonly clients: {
    add(client: NewClient): Promise<Result<{ clientId: string; clientSecret?: string }, ClientError>>;
    list(): ReturnType<typeof listClients>;
    /** Removes a client and revokes everything issued to it; false when there was none. */
    remove(clientId: string): Promise<boolean>;
  };
  readonly keys: { rotate(): Promise<{ kid: string; retired: string[] }> };
  /** Third-party applications a user allowed, for the account page. */
  readonly connectedApps: { list(userId: string): Promise<ConnectedApp[]>; revoke(userId: string, grantId: string): Promise<boolean> };
  /** Single sign-on for parts served on other hosts than the provider's (ROSE_SITE_URL). */
  readonly sso: {
    start: SsoClient['start'];
    /** Verifies the provider's answer and opens a local session on this host. */
    finish(callbackUrl: URL, saved: SsoState | undefined, meta: { userAgent: string | null; ip: string }): Promise<Result<{ token: string; expiresAt: Date; returnTo: string }, SsoError | { type: 'unknown-account' }>>;
    /** An OpenID back-channel logout token sent to a part; ends that user's sessions. */
    backchannelLogout(token: string): Promise<boolean>;
  };
  /** Answers the provider's own paths (under /auth) in front of the site; false for the rest. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export function wireOAuth(deps: { db: Kysely<Database>; config: Config; sessions: Sessions; logger: Logger }): OAuthServices {
  const { db, config, sessions, logger } = deps;
  const links = createLinks({ siteUrl: config.siteUrl, partHosts: config.partHosts });
  const issuer = new URL(links.provider.prefix(), config.siteUrl).toString().replace(/\/$/, '');
  const local: LocalSessions = {
    async open(userId, meta) {
      const token = generateSessionToken();
      const session = await sessions.create(token, userId, meta);
      return { token, expiresAt: session.expiresAt };
    },
    endAll: async (userId) => void (await sessions.invalidateAllForUser(userId)),
  };
  let memo: Promise<OpenIdProvider> | undefined;
  let kid: string | undefined;
  const load = async (): Promise<OpenIdProvider> => {
    try {
      await ensurePartClients(db, config.partOrigins);
      const provider = await createOpenIdProvider({
        db,
        siteUrl: config.siteUrl,
        links,
        secret: process.env.ASTRO_KEY ?? config.dataDir,
        findAccount: async (id) => {
          const u = await db.selectFrom('users').select(['id', 'email', 'display_name', 'email_verified_at']).where('id', '=', id).executeTakeFirst();
          return u ? { id: u.id, email: u.email, displayName: u.display_name, emailVerified: u.email_verified_at !== null } : undefined;
        },
        onSignedOut: local.endAll,
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
      kid = await activeSigningKeyId(db);
      return provider;
    } catch (error) {
      memo = undefined;
      throw error;
    }
  };
  const provider = () => (memo ??= load());
  const sso = createSsoClient({ db, issuer });
  return {
    provider,
    async reloadIfKeysChanged() {
      if (!memo) return false;
      const active = await activeSigningKeyId(db);
      if (!active || active === kid) return false;
      memo = load();
      await memo;
      logger.info({ kid: active }, 'OpenID provider now signs with a new key');
      return true;
    },
    clients: {
      add: (client) => addClient(db, client),
      list: () => listClients(db),
      remove: (clientId) => removeClient(db, clientId),
    },
    keys: { rotate: () => rotateSigningKey(db) },
    connectedApps: {
      list: (userId) => listConnectedApps(db, userId),
      revoke: (userId, grantId) => revokeConnectedApp(db, userId, grantId),
    },
    sso: {
      start: (origin, returnTo) => sso.start(origin, returnTo),
      finish: (callbackUrl, saved, meta) => finishSsoSignIn({ db, sso, sessions: local }, callbackUrl, saved, meta),
      async backchannelLogout(token) {
        const result = await handleBackchannelLogout({ db, issuer, sessions: local }, token);
        if (!result.ok) logger.warn({ reason: result.error.message }, 'back-channel logout token refused');
        return result.ok;
      },
    },
    handle: async (req, res) => (await provider()).handle(req, res),
  };
}
