import { randomUUID } from 'node:crypto';
import type { Context } from '@fedify/fedify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Clock } from '@rose/core';
import type { ApTag, Database } from '@rose/db';
import { defineJob, handle, type BatchHandler } from '@rose/jobs';
import { activityJson, queueActivity } from './delivery.ts';
import { objectActivity, objectDigest, storedObjectColumns, toStoredObject, type StoredObject } from './objects.ts';

/** A part's content changed: bring the objects its actor published in line with it. */
export const federationSyncJob = defineJob('federation.sync', z.object({ part: z.enum(['blog', 'market']) }));

/** What a part's actor should have published: one object per public item, keyed by source. */
export interface DesiredObject {
  source: string;
  type: 'Article' | 'Note' | 'Event';
  name: string | null;
  summary: string | null;
  contentHtml: string;
  url: string;
  tags: ApTag[];
  extra: Record<string, unknown>;
  publishedAt: Date;
}

export interface SyncSummary {
  created: number;
  updated: number;
  deleted: number;
}

/**
 * Publishes new items as Create, changed ones as Update, withdrawn ones as Delete (a
 * Tombstone stays at the id), each change and its delivery in one transaction. Items that
 * were already public before anyone followed the actor are recorded without a delivery.
 */
export async function syncPartObjects(deps: { db: Kysely<Database>; ctx: Context<unknown>; clock: Clock }, actor: string, prefix: string, desired: DesiredObject[]): Promise<SyncSummary> {
  const { db, ctx, clock } = deps;
  // What is compared only (not the stored HTML of every object: one query of it held the
  // embedded database's one session for a second at 10,000 posts while rebuilds waited).
  const existing = await db.selectFrom('ap_objects').select(['id', 'source', 'digest', 'published_at', 'deleted_at']).where('actor', '=', actor).where('source', 'like', `${prefix}%`).execute();
  const bySource = new Map(existing.map((e) => [e.source!, e]));
  const followers = Number((await db.selectFrom('ap_followers').select((eb) => eb.fn.countAll<number>().as('n')).where('actor', '=', actor).where('status', '=', 'accepted').executeTakeFirstOrThrow()).n);
  const summary: SyncSummary = { created: 0, updated: 0, deleted: 0 };
  const wanted = new Set<string>();
  for (const d of desired) {
    wanted.add(d.source);
    const fields = { type: d.type, name: d.name, summary: d.summary, contentHtml: d.contentHtml, url: d.url, inReplyTo: null, visibility: 'public' as const, tags: d.tags, extra: d.extra };
    const digest = objectDigest(fields);
    const row = bySource.get(d.source);
    if (row && !row.deleted_at && row.digest === digest) continue;
    const now = clock.now();
    const revived = row?.deleted_at != null;
    // A withdrawn item that comes back is a new object: other servers keep the old id's Tombstone.
    const stored: StoredObject = { id: row && !revived ? row.id : randomUUID(), actor, ...fields, publishedAt: row && !revived ? row.published_at : d.publishedAt, updatedAt: row && !revived ? now : null, deletedAt: null };
    const kind = row && !revived ? 'Update' : 'Create';
    const json = followers ? await activityJson(ctx, objectActivity(ctx, kind, stored, randomUUID())) : undefined;
    const values = { type: d.type, name: d.name, summary: d.summary, content_html: d.contentHtml, url: d.url, in_reply_to: null, visibility: 'public' as const, tags: JSON.stringify(d.tags), extra: JSON.stringify(d.extra), digest, published_at: stored.publishedAt, updated_at: stored.updatedAt, deleted_at: null };
    await db.transaction().execute(async (trx) => {
      if (row) await trx.updateTable('ap_objects').set({ ...values, id: stored.id }).where('id', '=', row.id).execute();
      else await trx.insertInto('ap_objects').values({ id: stored.id, actor, source: d.source, ...values }).execute();
      if (json) await queueActivity(trx, { sender: actor, activity: json, followers: true });
    });
    if (kind === 'Create') summary.created++;
    else summary.updated++;
  }
  for (const row of existing) {
    if (wanted.has(row.source!) || row.deleted_at) continue;
    const full = await db.selectFrom('ap_objects').select(storedObjectColumns).where('id', '=', row.id).executeTakeFirstOrThrow();
    const stored = { ...toStoredObject(full), deletedAt: clock.now() };
    const json = followers ? await activityJson(ctx, objectActivity(ctx, 'Delete', stored, randomUUID())) : undefined;
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('ap_objects').set({ deleted_at: stored.deletedAt }).where('id', '=', row.id).execute();
      if (json) await queueActivity(trx, { sender: actor, activity: json, followers: true });
    });
    summary.deleted++;
  }
  return summary;
}

/** The worker's handler: one sync per burst of changes. */
export function federationSyncHandlers(sync: (part: 'blog' | 'market') => Promise<SyncSummary>): Record<string, BatchHandler> {
  return handle(federationSyncJob, async (payloads) => {
    for (const part of new Set(payloads.map((p) => p.part))) await sync(part);
  });
}
