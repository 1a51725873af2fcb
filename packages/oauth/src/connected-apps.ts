import { sql, type Kysely } from 'kysely';
import type { Database } from '@rose/db';

export interface ConnectedApp {
  grantId: string;
  clientId: string;
  name: string;
  scopes: string[];
  since: Date | undefined;
}

/** Third-party applications a user has allowed (their grants), newest first. */
export async function listConnectedApps(db: Kysely<Database>, accountId: string): Promise<ConnectedApp[]> {
  const grants = await db
    .selectFrom('oidc_payloads')
    .select(['id', 'payload'])
    .where('model', '=', 'Grant')
    .where(sql<string>`payload->>'accountId'`, '=', accountId)
    .execute();
  if (grants.length === 0) return [];
  const clients = await db.selectFrom('oauth_clients').select(['client_id', 'metadata', 'first_party']).execute();
  const byId = new Map(clients.map((c) => [c.client_id, c]));
  const apps: ConnectedApp[] = [];
  for (const g of grants) {
    const p = g.payload as { clientId?: string; iat?: number; openid?: { scope?: string } };
    const client = p.clientId ? byId.get(p.clientId) : undefined;
    if (!client || client.first_party) continue;
    apps.push({
      grantId: g.id,
      clientId: client.client_id,
      name: (client.metadata as { client_name?: string }).client_name ?? client.client_id,
      scopes: (p.openid?.scope ?? '').split(' ').filter(Boolean),
      since: p.iat ? new Date(p.iat * 1000) : undefined,
    });
  }
  return apps.sort((a, b) => (b.since?.getTime() ?? 0) - (a.since?.getTime() ?? 0));
}

/** Revokes a grant of this user and every code and token issued under it. */
export async function revokeConnectedApp(db: Kysely<Database>, accountId: string, grantId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const grant = await trx
      .selectFrom('oidc_payloads')
      .select('id')
      .where('model', '=', 'Grant')
      .where('id', '=', grantId)
      .where(sql<string>`payload->>'accountId'`, '=', accountId)
      .executeTakeFirst();
    if (!grant) return false;
    await trx.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
    await trx.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', '=', grantId).execute();
    return true;
  });
}

/** Deletes the provider's own sessions of a user, so no app is signed in silently afterwards. */
export async function endProviderSessions(db: Kysely<Database>, accountId: string): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where(sql<string>`payload->>'accountId'`, '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
