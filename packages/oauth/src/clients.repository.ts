import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { err, linkPaths, ok, type Result } from '@rose/core';
import type { Database } from '@rose/db';

export interface NewClient {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** Our own parts: no consent screen. */
  firstParty?: boolean;
  /** Confidential clients get a secret (client_secret_basic); public ones use PKCE alone. */
  confidential?: boolean;
}

export type ClientError = { type: 'bad-redirect-uri'; uri: string; reason: string } | { type: 'bad-name' };

/** https, or http on a loopback host (development); no fragments, no wildcards. */
export function redirectUriProblem(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return 'not a URL';
  }
  if (u.hash) return 'must not contain a fragment';
  if (uri.includes('*')) return 'wildcards are not allowed';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return undefined;
  return 'must be https (http only for localhost)';
}

export async function addClient(db: Kysely<Database>, input: NewClient): Promise<Result<{ clientId: string; clientSecret: string | undefined }, ClientError>> {
  const name = input.name.trim();
  if (!name || name.length > 100) return err({ type: 'bad-name' });
  for (const uri of [...input.redirectUris, ...(input.postLogoutRedirectUris ?? [])]) {
    const reason = redirectUriProblem(uri);
    if (reason) return err({ type: 'bad-redirect-uri', uri, reason });
  }
  if (input.redirectUris.length === 0) return err({ type: 'bad-redirect-uri', uri: '', reason: 'at least one redirect URI is needed' });
  const clientId = `rose_${randomBytes(9).toString('base64url')}`;
  const clientSecret = input.confidential ? randomBytes(32).toString('base64url') : undefined;
  const metadata = {
    client_id: clientId,
    client_name: name,
    redirect_uris: input.redirectUris,
    post_logout_redirect_uris: input.postLogoutRedirectUris ?? [],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: clientSecret ? 'client_secret_basic' : 'none',
    ...(clientSecret ? { client_secret: clientSecret } : {}),
    first_party: Boolean(input.firstParty),
    // Our own parts hear about sign-outs at the provider (OpenID back-channel logout).
    ...(input.firstParty ? { backchannel_logout_uri: new URL(linkPaths.auth.ssoBackchannel(), input.redirectUris[0]!).toString() } : {}),
  };
  await db.insertInto('oauth_clients').values({ client_id: clientId, metadata: JSON.stringify(metadata), first_party: Boolean(input.firstParty) }).execute();
  return ok({ clientId, clientSecret });
}

export async function listClients(db: Kysely<Database>) {
  const rows = await db.selectFrom('oauth_clients').selectAll().orderBy('created_at').execute();
  return rows.map((r) => {
    const m = r.metadata as { client_name: string; redirect_uris: string[]; token_endpoint_auth_method: string };
    return { clientId: r.client_id, name: m.client_name, redirectUris: m.redirect_uris, firstParty: r.first_party, confidential: m.token_endpoint_auth_method !== 'none', createdAt: r.created_at };
  });
}

/** Removes a client and every grant, code and token issued to it. */
export async function removeClient(db: Kysely<Database>, clientId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('oauth_clients').where('client_id', '=', clientId).executeTakeFirst();
    await trx.deleteFrom('oidc_payloads').where(sql<string>`payload->>'clientId'`, '=', clientId).execute();
    return Number(removed.numDeletedRows) > 0;
  });
}

/**
 * Our own parts on other hosts are first-party clients, registered when the server starts
 * (idempotent): no consent screen, back-channel logout. Returns the origins added.
 */
export async function ensurePartClients(db: Kysely<Database>, origins: readonly string[]): Promise<string[]> {
  const added: string[] = [];
  for (const origin of origins) {
    const callback = new URL(linkPaths.auth.ssoCallback(), origin).toString();
    const existing = await db.selectFrom('oauth_clients').select('client_id').where('first_party', '=', true).where(sql<boolean>`metadata->'redirect_uris' ? ${callback}`).executeTakeFirst();
    if (existing) continue;
    const result = await addClient(db, { name: new URL(origin).host, redirectUris: [callback], postLogoutRedirectUris: [`${origin}/`], firstParty: true });
    if (!result.ok) throw new Error(`Cannot register ${origin} for single sign-on: ${result.error.type === 'bad-redirect-uri' ? result.error.reason : result.error.type}`);
    added.push(origin);
  }
  return added;
}
