import type { Context, Federation } from '@fedify/fedify';
import type { FederationData } from './federation.ts';
import { Activity, Object as ApObject, PUBLIC_COLLECTION, Update, isActor } from '@fedify/vocab';
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '@rose/db';
import { defineJob, enqueue, handle, type BatchHandler } from '@rose/jobs';

const recipient = z.object({ id: z.url(), inbox: z.url(), sharedInbox: z.url().nullable() });
export type DeliveryRecipient = z.infer<typeof recipient>;

/**
 * An activity one of our actors sends: queued in the transaction of the change it announces
 * (a post, a follow, an accept), handed to Fedify's queue by the outbox worker, which then
 * fans it out per inbox with retries, back-off and a circuit breaker per host.
 */
export const federationSendJob = defineJob(
  'federation.send',
  z.object({
    sender: z.string().regex(/^[a-z0-9_]{1,30}$/),
    /** The activity as compacted JSON-LD. */
    activity: z.record(z.string(), z.unknown()),
    /** Every follower of the sender (through shared inboxes where they have one). */
    followers: z.boolean(),
    /** Particular actors too: the one followed, the author replied to, those mentioned. */
    recipients: z.array(recipient).max(500),
  }),
);

/**
 * An activity as the JSON-LD a queued delivery carries. Done before the transaction that
 * queues it: compacting may read Fedify's document cache, and on the embedded database a
 * transaction holds the one connection.
 */
export async function activityJson(ctx: Context<unknown>, activity: Activity): Promise<Record<string, unknown>> {
  return (await activity.toJsonLd({ format: 'compact', contextLoader: ctx.contextLoader })) as Record<string, unknown>;
}

/** Queues a delivery in the transaction of the change it announces. */
export async function queueActivity(
  db: Kysely<Database> | Transaction<Database>,
  input: { sender: string; activity: Record<string, unknown>; followers?: boolean; recipients?: DeliveryRecipient[] },
): Promise<void> {
  await enqueue(db, federationSendJob, { sender: input.sender, activity: input.activity, followers: input.followers ?? false, recipients: input.recipients ?? [] });
}

/** The outbox worker's handler: each queued activity goes to Fedify's queue (and from there to the inboxes). */
export function federationSendHandlers(context: () => Promise<Context<unknown>>): Record<string, BatchHandler> {
  return handle(federationSendJob, async (payloads, jobs) => {
    const failed: { id: number; error: unknown }[] = [];
    const ctx = await context();
    for (const [i, p] of payloads.entries()) {
      try {
        const activity = await Activity.fromJsonLd(p.activity, { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
        const options = { preferSharedInbox: true, excludeBaseUris: [new URL(ctx.origin)] };
        if (p.followers) await ctx.sendActivity({ identifier: p.sender }, 'followers', activity, options);
        if (p.recipients.length) {
          const recipients = p.recipients.map((r) => ({ id: new URL(r.id), inboxId: new URL(r.inbox), endpoints: r.sharedInbox ? { sharedInbox: new URL(r.sharedInbox) } : null }));
          await ctx.sendActivity({ identifier: p.sender }, recipients, activity, options);
        }
      } catch (error) {
        failed.push({ id: jobs[i]!.id, error });
      }
    }
    return { failed };
  });
}

/**
 * One of our actors changed (its profile, its keys): its followers' servers get an Update of
 * the actor document as it is when the job runs. Queued in the change's transaction.
 */
export const federationProfileJob = defineJob('federation.profile', z.object({ actor: z.string().regex(/^[a-z0-9_]{1,30}$/) }));

export function federationProfileHandlers(federation: () => Promise<Federation<FederationData>>, context: () => Promise<Context<FederationData>>): Record<string, BatchHandler> {
  return handle(federationProfileJob, async (payloads, jobs) => {
    const failed: { id: number; error: unknown }[] = [];
    const ctx = await context();
    const fed = await federation();
    for (const [i, p] of payloads.entries()) {
      try {
        // The actor document as other servers get it (through its dispatcher).
        const response = await fed.fetch(new Request(ctx.getActorUri(p.actor), { headers: { Accept: 'application/activity+json' } }), { contextData: {} });
        if (response.status === 404) continue; // the actor is gone
        if (!response.ok) throw new Error(`our own actor document of ${p.actor} answered ${response.status}`);
        const document = await ApObject.fromJsonLd(await response.json(), { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
        if (!isActor(document)) throw new Error(`our own actor document of ${p.actor} is not an actor`);
        const me = ctx.getActorUri(p.actor);
        const update = new Update({ id: new URL(`#updates/${randomUUID()}`, me), actor: me, object: document, to: PUBLIC_COLLECTION, cc: ctx.getFollowersUri(p.actor) });
        await ctx.sendActivity({ identifier: p.actor }, 'followers', update, { preferSharedInbox: true, excludeBaseUris: [new URL(ctx.origin)] });
      } catch (error) {
        failed.push({ id: jobs[i]!.id, error });
      }
    }
    return { failed };
  });
}
