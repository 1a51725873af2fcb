import type { Kysely, Transaction } from 'kysely';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { err, ok, type Clock, type Result } from '@rose/core';
import type { Database } from '@rose/db';

export type EmailTokenKind = 'verify-email' | 'reset-password' | 'change-email';
export type EmailTokenRow = { id: string; user_id: string; kind: EmailTokenKind; new_email: string | null; expires_at: Date; used_at: Date | null };

export const tokenIdOf = (token: string): string => encodeHexLowerCase(sha256(new TextEncoder().encode(token)));

/** A single-use link token (32 random bytes, base32); only its SHA-256 is stored. */
export async function issueEmailToken(
  db: Kysely<Database> | Transaction<Database>,
  clock: Clock,
  input: { userId: string; kind: EmailTokenKind; ttlMs: number; newEmail?: string | null },
): Promise<string> {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  const token = encodeBase32LowerCaseNoPadding(bytes);
  await db
    .insertInto('email_tokens')
    .values({ id: tokenIdOf(token), user_id: input.userId, kind: input.kind, new_email: input.newEmail ?? null, expires_at: new Date(clock.now().getTime() + input.ttlMs) })
    .execute();
  return token;
}

/** The stored row of a token, used or not; `invalid-token` when it is malformed or unknown. */
export async function findEmailToken(db: Kysely<Database> | Transaction<Database>, token: string, kind: EmailTokenKind): Promise<Result<EmailTokenRow, { type: 'invalid-token' }>> {
  if (!/^[a-z2-7]{52}$/.test(token)) return err({ type: 'invalid-token' });
  const row = await db.selectFrom('email_tokens').selectAll().where('id', '=', tokenIdOf(token)).where('kind', '=', kind).executeTakeFirst();
  return row ? ok(row as EmailTokenRow) : err({ type: 'invalid-token' });
}
