import { createFederation, type Context, type Federation, type KvStore, type MessageQueue } from '@fedify/fedify';
import { Article, Create, Endpoints, Event, Group, Image, Note, Person, Service, type Actor, type Recipient } from '@fedify/vocab';
import { Temporal } from '@js-temporal/polyfill';
import type { Kysely } from 'kysely';
import { escapeXml, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { cachedKeyPairs, findActor, type LocalActor } from './actors.repository.ts';
import { registerInbox, type InboxEvents } from './inbox.ts';
import { isObjectId, objectActivity, storedObjectColumns, toActivityObject, toStoredObject } from './objects.ts';
import { timedLoaderFactories } from './loaders.ts';
import { apPaths } from './paths.ts';

export interface FederationLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a request hands the listeners: the delivered activity exactly as its sender wrote it. */
export interface FederationData {
  /** The body of an inbox delivery (verified by Fedify before any listener runs). */
  raw?: Record<string, unknown>;
}

export interface RoseFederationOptions {
  db: Kysely<Database>;
  kv: KvStore;
  /** Fedify's queue (ours runs on the outbox table); without one, deliveries go out at once (tests). */
  queue?: MessageQueue;
  /** The site's public URL: every actor and object id is on its origin, whatever host a request used. */
  siteUrl: string;
  clock: Clock;
  logger: FederationLogger;
  /** Tests only: lets Fedify fetch from and deliver to loopback and private addresses. */
  allowPrivateAddress?: boolean;
  /** The HTML page of a local actor (the social hub's profile page). */
  profileUrl(handle: string): string;
  /** Name, summary and icon of a part's actor, from the site's settings. */
  describe(actor: LocalActor): Promise<{ name: string; summary: string; iconUrl?: string | undefined }>;
  software: { name: string; version: string; homepage?: string };
  events?: InboxEvents;
  /** How many hosts in a row may fail before their circuit opens (Fedify's circuit breaker). */
  circuitBreaker?: { failureThreshold: number; recoveryDelayMinutes: number };
}

const pageSize = 50;

/**
 * Fedify, set up for the co-op: an actor per part and per member who turned it on, their
 * keys from the database, WebFinger and NodeInfo, followers/following/outbox collections
 * with paging, our objects dereferenceable, and the inbox listeners (inbox.ts).
 */
export function createRoseFederation(opts: RoseFederationOptions): Federation<FederationData> {
  const { db } = opts;
  const origin = new URL(opts.siteUrl).origin;
  const federation = createFederation<FederationData>({
    kv: opts.kv,
    // Deliveries and fan-outs go through the queue (the outbox worker runs them); received
    // activities are handled in their request, after verification, so a listener sees the body
    // as sent (extension fields Fedify's vocabulary does not know survive) and a failure is
    // answered with 500 for the sender to retry.
    ...(opts.queue ? { queue: { outbox: opts.queue, fanout: opts.queue }, manuallyStartQueue: true } : {}),
    origin,
    // Tests reach loopback peers with Fedify's own loaders; everywhere else ours, with time limits.
    ...(opts.allowPrivateAddress ? { allowPrivateAddress: true } : timedLoaderFactories(opts.kv, `${opts.software.name}/${opts.software.version} (+${origin}/)`)),
    // A dead instance must not be retried for ever: after 10 failures to a host within an hour its circuit opens,
    // activities for it are held (and dropped after a week), and one probe tries it again later.
    circuitBreaker: {
      failureThreshold: opts.circuitBreaker?.failureThreshold ?? 10,
      failureWindow: { hours: 1 },
      recoveryDelay: { minutes: opts.circuitBreaker?.recoveryDelayMinutes ?? 30 },
      heldActivityTtl: { days: 7 },
      onStateChange: (host, from, to) => opts.logger.warn({ host, from, to }, `deliveries to ${host}: circuit ${to}`),
      onActivityDrop: (host, drop) => opts.logger.warn({ host, activity: drop.activityId, type: drop.activityType }, `dropped an activity for ${host}: it stayed unreachable`),
    },
    // Other servers' permanent refusals end the retries (Fedify retries the rest with back-off).
    permanentFailureStatusCodes: [404, 410],
    onOutboxError: (error, activity) => opts.logger.warn({ err: error, activity: activity?.id?.href }, 'an activity could not be delivered; retried with back-off'),
  });

  const actorFor = async (ctx: Context<FederationData>, actor: LocalActor): Promise<Actor> => {
    const keys = await ctx.getActorKeyPairs(actor.handle);
    const about = await opts.describe(actor);
    const values = {
      id: ctx.getActorUri(actor.handle),
      preferredUsername: actor.handle,
      name: about.name,
      // ActivityPub summaries are HTML; ours are plain text.
      summary: about.summary ? `<p>${escapeXml(about.summary).replaceAll('\n', '<br>')}</p>` : null,
      url: new URL(opts.profileUrl(actor.handle)),
      inbox: ctx.getInboxUri(actor.handle),
      outbox: ctx.getOutboxUri(actor.handle),
      followers: ctx.getFollowersUri(actor.handle),
      following: ctx.getFollowingUri(actor.handle),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: actor.manuallyApprovesFollowers,
      discoverable: true,
      indexable: actor.kind === 'part',
      published: Temporal.Instant.fromEpochMilliseconds(actor.createdAt.getTime()),
      ...(about.iconUrl ? { icon: new Image({ url: new URL(about.iconUrl, origin) }) } : {}),
      publicKey: keys[0]?.cryptographicKey ?? null,
      assertionMethods: keys.map((k) => k.multikey),
    };
    return actor.type === 'Group' ? new Group(values) : actor.type === 'Person' ? new Person(values) : new Service(values);
  };

  federation
    .setActorDispatcher(apPaths.actor, async (ctx, identifier) => {
      const actor = await findActor(db, identifier);
      return actor ? actorFor(ctx, actor) : null;
    })
    .setKeyPairsDispatcher(async (_ctx, identifier) => cachedKeyPairs(db, identifier))
    // acct:handle@host finds the actor whose identifier is the handle (they are the same here).
    .mapHandle(async (_ctx, username) => ((await findActor(db, username.toLowerCase())) ? username.toLowerCase() : null));

  // Our objects, dereferenceable at their ids (public and unlisted ones; the rest need the audience).
  const publicObject = async (ctx: Context<FederationData>, id: string | undefined, type: string) => {
    if (!isObjectId(id)) return null;
    const row = await db.selectFrom('ap_objects').select(storedObjectColumns).where('id', '=', id).where('type', '=', type).executeTakeFirst();
    if (!row || row.visibility === 'followers' || row.visibility === 'direct') return null;
    return toActivityObject(ctx, toStoredObject(row));
  };
  federation.setObjectDispatcher(Note, apPaths.note, async (ctx, values) => (await publicObject(ctx, values.id, 'Note')) as Note | null);
  federation.setObjectDispatcher(Article, apPaths.article, async (ctx, values) => (await publicObject(ctx, values.id, 'Article')) as Article | null);
  federation.setObjectDispatcher(Event, apPaths.event, async (ctx, values) => (await publicObject(ctx, values.id, 'Event')) as Event | null);

  const offsetOf = (cursor: string | null) => {
    const n = cursor === null ? 0 : Number.parseInt(cursor, 10);
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  };

  federation
    .setFollowersDispatcher(apPaths.followers, async (_ctx, identifier, cursor) => {
      if (!(await findActor(db, identifier))) return null;
      const query = db
        .selectFrom('ap_followers as f')
        .leftJoin('ap_remote_actors as r', 'r.uri', 'f.follower_uri')
        .select(['f.follower_uri', 'r.inbox', 'r.shared_inbox'])
        .where('f.actor', '=', identifier)
        .where('f.status', '=', 'accepted')
        .orderBy('f.created_at')
        .orderBy('f.follower_uri');
      // Without a cursor (a fan-out), every follower; pages for everyone else.
      const rows = cursor === null ? await query.execute() : await query.offset(offsetOf(cursor)).limit(pageSize).execute();
      const items: Recipient[] = rows.map((r) => ({ id: new URL(r.follower_uri), inboxId: r.inbox ? new URL(r.inbox) : null, endpoints: r.shared_inbox ? { sharedInbox: new URL(r.shared_inbox) } : null }));
      const next = cursor !== null && rows.length === pageSize ? String(offsetOf(cursor) + pageSize) : null;
      return { items, nextCursor: next };
    })
    .setFirstCursor(() => '0')
    .setCounter(async (_ctx, identifier) => Number((await db.selectFrom('ap_followers').select((eb) => eb.fn.countAll<number>().as('n')).where('actor', '=', identifier).where('status', '=', 'accepted').executeTakeFirstOrThrow()).n));

  federation
    .setFollowingDispatcher(apPaths.following, async (_ctx, identifier, cursor) => {
      if (!(await findActor(db, identifier))) return null;
      const rows = await db.selectFrom('ap_following').select('target_uri').where('actor', '=', identifier).where('status', '=', 'accepted').orderBy('created_at').orderBy('target_uri').offset(offsetOf(cursor)).limit(pageSize).execute();
      return { items: rows.map((r) => new URL(r.target_uri)), nextCursor: rows.length === pageSize ? String(offsetOf(cursor) + pageSize) : null };
    })
    .setFirstCursor(() => '0')
    .setCounter(async (_ctx, identifier) => Number((await db.selectFrom('ap_following').select((eb) => eb.fn.countAll<number>().as('n')).where('actor', '=', identifier).where('status', '=', 'accepted').executeTakeFirstOrThrow()).n));

  const publicObjects = (identifier: string) =>
    db.selectFrom('ap_objects').where('actor', '=', identifier).where('deleted_at', 'is', null).where('visibility', 'in', ['public', 'unlisted']);
  federation
    .setOutboxDispatcher(apPaths.outbox, async (ctx, identifier, cursor) => {
      if (!(await findActor(db, identifier))) return null;
      const rows = await publicObjects(identifier).select(storedObjectColumns).orderBy('published_at', 'desc').orderBy('id').offset(offsetOf(cursor)).limit(pageSize).execute();
      // The outbox lists each object's Create, with the id it was sent with (one per object).
      const items = rows.map((r) => objectActivity(ctx, 'Create', toStoredObject(r))) as Create[];
      return { items, nextCursor: rows.length === pageSize ? String(offsetOf(cursor) + pageSize) : null };
    })
    .setFirstCursor(() => '0')
    .setCounter(async (_ctx, identifier) => Number((await publicObjects(identifier).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n));

  federation.setNodeInfoDispatcher(apPaths.nodeinfo, async () => {
    const [users, posts] = await Promise.all([
      db.selectFrom('ap_actors').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'member').executeTakeFirstOrThrow(),
      db.selectFrom('ap_objects').select((eb) => eb.fn.countAll<number>().as('n')).where('deleted_at', 'is', null).where('visibility', '=', 'public').executeTakeFirstOrThrow(),
    ]);
    return {
      software: { name: opts.software.name, version: opts.software.version, ...(opts.software.homepage ? { homepage: new URL(opts.software.homepage) } : {}) },
      protocols: ['activitypub'],
      openRegistrations: false,
      usage: { users: { total: Number(users.n) }, localPosts: Number(posts.n), localComments: 0 },
    };
  });

  registerInbox(federation, { db, clock: opts.clock, logger: opts.logger, origin, allowPrivateAddress: opts.allowPrivateAddress ?? false, ...(opts.events ? { events: opts.events } : {}) });
  return federation;
}
