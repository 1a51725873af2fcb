import type { Kysely } from 'kysely';
import { err, ok, type Result } from '@rose/core';
import type { Database } from '@rose/db';
import { verifyLogoutToken, type SsoClient, type SsoError, type SsoState } from './sso-client.ts';

/** What a part needs from accounts to finish a sign-in through the provider. */
export interface LocalSessions {
  /** Opens a session on this host for an existing account. */
  open(userId: string, meta: { userAgent: string | null; ip: string }): Promise<{ token: string; expiresAt: Date }>;
  /** Ends every session of an account (a sign-out at the provider). */
  endAll(userId: string): Promise<void>;
}

/**
 * The end of single sign-on on a part's host: checks the provider's answer (state, nonce,
 * PKCE, id_token signature — `SsoClient.finish`) and opens a local session for the account.
 */
export async function finishSsoSignIn(
  deps: { db: Kysely<Database>; sso: SsoClient; sessions: LocalSessions },
  callbackUrl: URL,
  saved: SsoState | undefined,
  meta: { userAgent: string | null; ip: string },
): Promise<Result<{ token: string; expiresAt: Date; returnTo: string }, SsoError | { type: 'unknown-account' }>> {
  const result = await deps.sso.finish(callbackUrl, saved);
  if (!result.ok) return result;
  const user = await deps.db.selectFrom('users').select('id').where('id', '=', result.value.sub).executeTakeFirst();
  if (!user) return err({ type: 'unknown-account' as const });
  const session = await deps.sessions.open(user.id, meta);
  return ok({ ...session, returnTo: saved!.returnTo });
}

/**
 * An OpenID back-channel logout token sent to a part: verified (signature by the provider's
 * keys, audience a first-party client, fresh), then that account's sessions here end.
 */
export async function handleBackchannelLogout(
  deps: { db: Kysely<Database>; issuer: string; sessions: LocalSessions },
  token: string,
): Promise<Result<{ sub: string }, { type: 'invalid-token'; message: string }>> {
  const verified = await verifyLogoutToken(deps.db, deps.issuer, token);
  if (verified.ok) await deps.sessions.endAll(verified.value.sub);
  return verified;
}
