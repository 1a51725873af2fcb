import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';

/** Keys retired more than this long ago are no longer published (tokens live ≤ 1 day). */
const RETIRED_GRACE_MS = 2 * 24 * 3600 * 1000;

async function newKey(db: Kysely<Database>): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' };
  await db.insertInto('oidc_keys').values({ kid: jwk.kid, private_jwk: JSON.stringify(jwk) }).execute();
  return jwk.kid;
}

/** The private JWKs to load into the provider: the active key first, then retired ones. */
export async function loadSigningKeys(db: Kysely<Database>): Promise<Record<string, unknown>[]> {
  let rows = await db.selectFrom('oidc_keys').selectAll().orderBy('created_at', 'desc').execute();
  if (!rows.some((r) => r.retired_at === null)) {
    await newKey(db);
    rows = await db.selectFrom('oidc_keys').selectAll().orderBy('created_at', 'desc').execute();
  }
  const now = Date.now();
  const active = rows.filter((r) => r.retired_at === null);
  const retired = rows.filter((r) => r.retired_at !== null && now - r.retired_at.getTime() < RETIRED_GRACE_MS);
  return [...active, ...retired].map((r) => r.private_jwk);
}

/** Makes a new signing key active and retires the others (still published for a while). */
export async function rotateSigningKey(db: Kysely<Database>): Promise<{ kid: string; retired: string[] }> {
  return db.transaction().execute(async (trx) => {
    const retired = await trx.updateTable('oidc_keys').set({ retired_at: new Date() }).where('retired_at', 'is', null).returning('kid').execute();
    const kid = await newKey(trx);
    return { kid, retired: retired.map((r) => r.kid) };
  });
}

/** The id of the key that signs now (undefined before the first one is made). */
export async function activeSigningKeyId(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('oidc_keys').select('kid').where('retired_at', 'is', null).orderBy('created_at', 'desc').executeTakeFirst();
  return row?.kid;
}
