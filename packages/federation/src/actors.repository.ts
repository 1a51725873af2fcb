import { exportJwk, generateCryptoKeyPair, importJwk } from '@fedify/fedify';
import type { Kysely, Transaction } from 'kysely';
import { err, ok, type Clock, type Result } from '@rose/core';
import type { Selectable } from 'kysely';
import type { ApActorsTable, Database } from '@rose/db';
import { enqueue } from '@rose/jobs';
import { federationProfileJob } from './delivery.ts';

/** The parts that speak as an actor of their own (their handle is the part's name). */
export const partActors = ['blog', 'market', 'events'] as const;
export type PartActor = (typeof partActors)[number];

/** Handles no member may take: the parts', and names that would mislead. */
const reservedHandles = new Set<string>([...partActors, 'admin', 'administrator', 'staff', 'root', 'system', 'support', 'help', 'info', 'social', 'cart', 'account', 'auth', 'api', 'ap', 'inbox', 'outbox', 'www', 'mail', 'postmaster', 'abuse', 'security', 'webmaster', 'hostmaster', 'noreply', 'no_reply', 'everyone', 'all', 'coop', 'moderator', 'mod']);

export interface LocalActor {
  handle: string;
  kind: 'part' | 'member';
  userId: string | null;
  type: ApActorsTable['type'];
  displayName: string;
  summary: string;
  manuallyApprovesFollowers: boolean;
  createdAt: Date;
}

type Db = Kysely<Database> | Transaction<Database>;

const actorColumns = ['handle', 'kind', 'user_id', 'type', 'display_name', 'summary', 'manually_approves_followers', 'created_at'] as const;

function toActor(row: Omit<Selectable<ApActorsTable>, 'updated_at'>): LocalActor {
  return {
    handle: row.handle,
    kind: row.kind,
    userId: row.user_id,
    type: row.type,
    displayName: row.display_name,
    summary: row.summary,
    manuallyApprovesFollowers: row.manually_approves_followers,
    createdAt: row.created_at,
  };
}

export async function findActor(db: Db, handle: string): Promise<LocalActor | undefined> {
  const row = await db.selectFrom('ap_actors').select(actorColumns).where('handle', '=', handle.toLowerCase()).executeTakeFirst();
  return row && toActor(row);
}

export async function findActorOfUser(db: Db, userId: string): Promise<LocalActor | undefined> {
  const row = await db.selectFrom('ap_actors').select(actorColumns).where('user_id', '=', userId).executeTakeFirst();
  return row && toActor(row);
}

export async function listActors(db: Db): Promise<LocalActor[]> {
  return (await db.selectFrom('ap_actors').select(actorColumns).orderBy('kind', 'desc').orderBy('handle').execute()).map(toActor);
}

/** The part actors, created on first use (name and summary from the site's settings). */
export async function ensurePartActors(db: Kysely<Database>, describe: (part: PartActor) => { name: string; summary: string }): Promise<void> {
  for (const part of partActors) {
    const { name, summary } = describe(part);
    await db
      .insertInto('ap_actors')
      .values({ handle: part, kind: 'part', user_id: null, type: part === 'events' ? 'Group' : 'Service', display_name: name.slice(0, 100), summary: summary.slice(0, 500) })
      .onConflict((oc) => oc.column('handle').doNothing())
      .execute();
    await ensureKeys(db, part);
  }
}

export type HandleProblem = { type: 'invalid-handle'; message: string } | { type: 'handle-taken' } | { type: 'already-enabled'; handle: string };

/** Why a handle cannot be used, or undefined when it can (uniqueness is the database's to say). */
export function handleProblem(handle: string): string | undefined {
  if (!/^[a-z0-9_]{1,30}$/.test(handle)) return 'A handle is 1–30 lowercase letters, digits or underscores.';
  if (/^_|_$/.test(handle)) return 'A handle may not start or end with an underscore.';
  if (reservedHandles.has(handle)) return `“${handle}” is reserved; please choose another.`;
  return undefined;
}

/**
 * Turns on a member's ActivityPub profile with the handle they chose (once: it is part of
 * their address on other servers, so it never changes).
 */
export async function enableMemberActor(
  db: Kysely<Database>,
  input: { userId: string; handle: string; displayName: string; manuallyApprovesFollowers?: boolean },
): Promise<Result<LocalActor, HandleProblem>> {
  const handle = input.handle.trim().replace(/^@/, '').toLowerCase();
  const problem = handleProblem(handle);
  if (problem) return err({ type: 'invalid-handle', message: problem });
  const existing = await findActorOfUser(db, input.userId);
  if (existing) return err({ type: 'already-enabled', handle: existing.handle });
  const inserted = await db
    .insertInto('ap_actors')
    .values({ handle, kind: 'member', user_id: input.userId, type: 'Person', display_name: input.displayName.slice(0, 100), manually_approves_followers: input.manuallyApprovesFollowers ?? false })
    .onConflict((oc) => oc.doNothing())
    .returning(actorColumns)
    .executeTakeFirst();
  if (!inserted) {
    const again = await findActorOfUser(db, input.userId);
    return again ? err({ type: 'already-enabled', handle: again.handle }) : err({ type: 'handle-taken' });
  }
  await ensureKeys(db, handle);
  return ok(toActor(inserted));
}

export async function updateMemberActor(db: Db, userId: string, changes: { displayName?: string; summary?: string; manuallyApprovesFollowers?: boolean }, clock: Clock): Promise<boolean> {
  const result = await db
    .updateTable('ap_actors')
    .set({
      ...(changes.displayName !== undefined ? { display_name: changes.displayName.slice(0, 100) } : {}),
      ...(changes.summary !== undefined ? { summary: changes.summary.slice(0, 500) } : {}),
      ...(changes.manuallyApprovesFollowers !== undefined ? { manually_approves_followers: changes.manuallyApprovesFollowers } : {}),
      updated_at: clock.now(),
    })
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export type KeyAlgorithm = 'RSASSA-PKCS1-v1_5' | 'Ed25519';
const algorithms: KeyAlgorithm[] = ['RSASSA-PKCS1-v1_5', 'Ed25519'];

async function newKeyRow(actor: string, algorithm: KeyAlgorithm) {
  const pair = await generateCryptoKeyPair(algorithm);
  return { actor, algorithm, public_jwk: JSON.stringify(await exportJwk(pair.publicKey)), private_jwk: JSON.stringify(await exportJwk(pair.privateKey)) };
}

/** Gives an actor an RSA and an Ed25519 key pair unless it has them. */
export async function ensureKeys(db: Kysely<Database>, actor: string): Promise<void> {
  for (const algorithm of algorithms) {
    const has = await db.selectFrom('ap_keys').select('id').where('actor', '=', actor).where('algorithm', '=', algorithm).where('retired_at', 'is', null).executeTakeFirst();
    if (has) continue;
    await db
      .insertInto('ap_keys')
      .values(await newKeyRow(actor, algorithm))
      .onConflict((oc) => oc.columns(['actor', 'algorithm']).where('retired_at', 'is', null).doNothing())
      .execute();
  }
}

/** Key pairs imported in the last minute, by actor: every delivery and signed fetch needs them. */
const recentPairs = new Map<string, { pairs: Promise<CryptoKeyPair[]>; until: number }>();
const pairsCacheMs = 60_000;

/** The active key pairs of an actor, remembered for a minute (importing an RSA key costs). */
export function cachedKeyPairs(db: Db, actor: string): Promise<CryptoKeyPair[]> {
  const now = Date.now();
  const hit = recentPairs.get(actor);
  if (hit && hit.until > now) return hit.pairs;
  const pairs = loadKeyPairs(db, actor);
  recentPairs.set(actor, { pairs, until: now + pairsCacheMs });
  pairs.catch(() => recentPairs.delete(actor));
  return pairs;
}

/** Forgets remembered key pairs (after a rotation in this process). */
export function forgetKeyPairs(): void {
  recentPairs.clear();
}

/** The active key pairs of an actor, RSA first (Mastodon verifies with the first key). */
export async function loadKeyPairs(db: Db, actor: string): Promise<CryptoKeyPair[]> {
  const rows = await db.selectFrom('ap_keys').select(['algorithm', 'public_jwk', 'private_jwk']).where('actor', '=', actor).where('retired_at', 'is', null).execute();
  rows.sort((a, b) => algorithms.indexOf(a.algorithm) - algorithms.indexOf(b.algorithm));
  return Promise.all(rows.map(async (r) => ({ publicKey: await importJwk(r.public_jwk, 'public'), privateKey: await importJwk(r.private_jwk, 'private') })));
}

/**
 * Replaces the key pairs of the given actors (all by default) with new ones, in one
 * transaction: the old are kept, retired, for the record. Other servers fetch the new public
 * key from the actor document when a signature by the new key arrives.
 */
export async function rotateKeys(db: Kysely<Database>, clock: Clock, actors?: string[]): Promise<{ actor: string; algorithm: KeyAlgorithm }[]> {
  const targets = actors ?? (await db.selectFrom('ap_actors').select('handle').execute()).map((a) => a.handle);
  const fresh: Awaited<ReturnType<typeof newKeyRow>>[] = [];
  for (const actor of targets) for (const algorithm of algorithms) fresh.push(await newKeyRow(actor, algorithm));
  await db.transaction().execute(async (trx) => {
    if (targets.length) await trx.updateTable('ap_keys').set({ retired_at: clock.now() }).where('actor', 'in', targets).where('retired_at', 'is', null).execute();
    if (fresh.length) await trx.insertInto('ap_keys').values(fresh).execute();
    // Followers' servers hear of the new keys (an Update of each actor).
    for (const actor of targets) await enqueue(trx, federationProfileJob, { actor });
  });
  forgetKeyPairs();
  return fresh.map((f) => ({ actor: f.actor, algorithm: f.algorithm }));
}
