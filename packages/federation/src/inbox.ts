import { createHash, randomUUID } from 'node:crypto';
import type { Federation, InboxContext } from '@fedify/fedify';
import { Accept, Activity, Announce, Block, Create, Delete, Follow, Like, Move, Reject, Undo, Update, isActor, type Actor, type Object as ApObject } from '@fedify/vocab';
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '@rose/core';
import type { ApNotificationKind, Database } from '@rose/db';
import { findActor } from './actors.repository.ts';
import { parseRemotePost, type RemotePost } from './content/remote-post.ts';
import { ourObjectId } from './objects.ts';
import { activityJson, queueActivity } from './delivery.ts';
import type { FederationData, FederationLogger } from './federation.ts';
import { describeActor, isBlocked, rememberActor } from './remote-actors.ts';

/** Tells the process something arrived (the social hub's live counters, the worker). */
export interface InboxEvents {
  onNotification?(actor: string, kind: ApNotificationKind): void;
  onJobQueued?(): void;
}

interface InboxDeps {
  db: Kysely<Database>;
  /** Tests only: inboxes on loopback and private addresses are kept. */
  allowPrivateAddress?: boolean;
  clock: Clock;
  logger: FederationLogger;
  origin: string;
  events?: InboxEvents;
}

type Trx = Transaction<Database>;

/** The id an activity is remembered by: its own, or a hash of it for the rare one without. */
async function activityKey(activity: Activity): Promise<string> {
  if (activity.id) return activity.id.href;
  return `urn:sha256:${createHash('sha256').update(JSON.stringify(await activity.toJsonLd())).digest('hex')}`;
}

const sameOrigin = (a: URL | null | undefined, b: URL | null | undefined) => Boolean(a && b && a.origin === b.origin);

/**
 * Handles each kind of activity other servers send us. Every delivery is recorded once in
 * `ap_inbox` (its id makes a repeat a no-op) together with what it changed, in one
 * transaction; remote documents are fetched before it and replies (Accept) are queued in it.
 */
export function registerInbox(federation: Federation<FederationData>, deps: InboxDeps): void {
  const { db, clock, logger } = deps;
  const ours = (uri: URL | null | undefined) => Boolean(uri && uri.origin === deps.origin);

  /**
   * Records the activity and runs `apply` in the same transaction, unless it was seen before.
   * `apply` returns what became of it (`accepted`, or why it changed nothing).
   */
  const once = async (ctx: InboxContext<FederationData>, activity: Activity, objectUri: URL | null | undefined, apply: (trx: Trx) => Promise<string>): Promise<void> => {
    const id = await activityKey(activity);
    // The body as sent (what `rose social inbox` shows); re-serialising the parsed activity
    // would also embed every document fetched while handling it (the sender's actor, its keys).
    const payload = JSON.stringify(ctx.data.raw ?? (await activity.toJsonLd({ format: 'compact', contextLoader: ctx.contextLoader })));
    let outcome = '';
    await db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('ap_inbox')
        .values({ activity_id: id, type: activity.constructor.name, actor_uri: activity.actorId?.href ?? '', object_uri: objectUri?.href ?? null, recipient: ctx.recipient, outcome: 'pending', payload })
        .onConflict((oc) => oc.column('activity_id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) {
        outcome = 'duplicate';
        return;
      }
      outcome = await apply(trx);
      // The body is kept for what changed something; the rest is logged by id and outcome only
      // (anyone with a key can send us activities; their bodies need not fill the database).
      await trx.updateTable('ap_inbox').set({ outcome, ...(outcome.startsWith('accepted') ? {} : { payload: '{}' }) }).where('id', '=', row.id).execute();
    });
    if (outcome !== 'duplicate') logger.info({ activity: id, type: activity.constructor.name, actor: activity.actorId?.href, outcome }, 'activity received');
    if (outcome.startsWith('accepted')) deps.events?.onJobQueued?.();
  };

  const notify = async (trx: Trx, actor: string, kind: ApNotificationKind, from: string, objectUri: string | null, activityId: string) => {
    await trx.insertInto('ap_notifications').values({ actor, kind, from_uri: from, object_uri: objectUri, activity_id: activityId }).onConflict((oc) => oc.doNothing()).execute();
    deps.events?.onNotification?.(actor, kind);
  };

  /** The local actor an URI of ours names, if it is one. */
  const localActorOf = async (ctx: InboxContext<FederationData>, uri: URL | null | undefined) => {
    if (!ours(uri)) return undefined;
    const parsed = ctx.parseUri(uri!);
    if (parsed?.type !== 'actor') return undefined;
    return findActor(db, parsed.identifier);
  };

  const fetchActor = async (ctx: InboxContext<FederationData>, activity: Activity): Promise<Actor | null> => activity.getActor({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader, suppressError: true });

  /** A remote post, parsed and checked: it must be the sender's own, from the sender's server. */
  const postOf = async (ctx: InboxContext<FederationData>, activity: Create | Update, object: ApObject): Promise<RemotePost | string> => {
    if (!sameOrigin(object.id, activity.actorId)) return 'refused: the object is not from the sender’s server';
    if (!object.attributionIds.some((a) => a.href === activity.actorId?.href)) return 'refused: the object is not the sender’s';
    // The object as its server wrote it when it came embedded in this delivery (Fedify's
    // vocabulary drops extensions it does not know: blurhash, focalPoint, Misskey's fields).
    const embedded = ctx.data.raw?.object;
    const asSent = embedded && typeof embedded === 'object' && !Array.isArray(embedded) && (embedded as { id?: unknown }).id === object.id?.href ? embedded : undefined;
    // (Fetched from its server otherwise; NUL characters cannot be stored.)
    const json = asSent ?? JSON.parse(JSON.stringify(await object.toJsonLd({ format: 'compact', contextLoader: ctx.contextLoader })).replaceAll('\\u0000', ''));
    // Followers-only posts are addressed to the author's followers collection, wherever it is.
    const followersUrl = (await db.selectFrom('ap_remote_actors').select('followers_url').where('uri', '=', activity.actorId!.href).executeTakeFirst())?.followers_url;
    const parsed = parseRemotePost(json, { followersOf: (actor) => (actor === activity.actorId?.href ? (followersUrl ?? undefined) : undefined) });
    if (!parsed.ok) return `ignored: ${parsed.error.message}`;
    // What is stored as its author and id must be the sender and the object Fedify checked.
    if (parsed.value.actorUri !== activity.actorId?.href || parsed.value.uri !== object.id?.href) return 'refused: the object is not the sender’s';
    // A date in the future would keep a post at the top of every timeline.
    const now = clock.now();
    return { ...parsed.value, ...(parsed.value.published && parsed.value.published > now ? { published: now } : {}) };
  };

  /** Which of our actors a post concerns: replied to, mentioned, or following its author. */
  const concerned = async (ctx: InboxContext<FederationData>, post: RemotePost): Promise<{ reply?: { actor: string }; mentioned: string[]; followed: boolean }> => {
    let reply: { actor: string } | undefined;
    const replyTo = post.inReplyTo && ours(new URL(post.inReplyTo)) ? ourObjectId(ctx, post.inReplyTo) : undefined;
    if (replyTo) {
      const target = await db.selectFrom('ap_objects').select('actor').where('id', '=', replyTo).where('deleted_at', 'is', null).executeTakeFirst();
      if (target) reply = { actor: target.actor };
    }
    const mentioned: string[] = [];
    for (const href of post.mentions) {
      const actor = await localActorOf(ctx, new URL(href)).catch(() => undefined);
      if (actor) mentioned.push(actor.handle);
    }
    const follows = await db.selectFrom('ap_following').select('actor').where('target_uri', '=', post.actorUri).where('status', '=', 'accepted').executeTakeFirst();
    return { ...(reply ? { reply } : {}), mentioned, followed: follows !== undefined };
  };

  const storePost = (trx: Trx, post: RemotePost) => {
    const row = {
      uri: post.uri,
      actor_uri: post.actorUri,
      type: post.type,
      url: post.url ?? null,
      name: post.name ?? null,
      summary: post.summary ?? null,
      content_html: post.contentHtml,
      sensitive: post.sensitive,
      language: post.language ?? null,
      in_reply_to: post.inReplyTo ?? null,
      visibility: post.visibility,
      attachments: JSON.stringify(post.attachments),
      emojis: JSON.stringify(post.emojis),
      mentions: JSON.stringify(post.mentions),
      hashtags: JSON.stringify(post.hashtags),
      published_at: post.published ?? clock.now(),
      updated_at: post.updated ?? null,
    };
    return trx
      .insertInto('ap_posts')
      .values(row)
      .onConflict((oc) => oc.column('uri').doUpdateSet({ ...row }).where('ap_posts.actor_uri', '=', post.actorUri))
      .execute();
  };

  federation
    .setInboxListeners('/ap/actors/{identifier}/inbox', '/ap/inbox')
    // A Delete from an account that is gone (its key answers 410) cannot be verified and needs
    // nothing from us: Mastodon sends these to every server that ever saw the account.
    .onUnverifiedActivity((_ctx, activity, reason) => {
      if (activity instanceof Delete && reason.type === 'keyFetchError' && 'status' in reason.result && reason.result.status === 410) return new Response(null, { status: 202 });
      logger.warn({ activity: activity.id?.href, type: activity.constructor.name, reason: reason.type }, 'refused an activity whose signature could not be verified');
      return undefined;
    })
    .on(Follow, async (ctx, follow) => {
      const target = await localActorOf(ctx, follow.objectId);
      const sender = follow.actorId;
      if (!target || !sender || !follow.id) return void (await once(ctx, follow, follow.objectId, async () => 'ignored: not a follow of one of our actors'));
      if (await isBlocked(db, sender.href, target.handle)) return void (await once(ctx, follow, follow.objectId, async () => 'ignored: blocked'));
      const actor = await fetchActor(ctx, follow);
      const described = actor?.id?.href === sender.href ? await describeActor(actor, clock.now(), ctx, deps) : null;
      // Its inbox checked like every address we fetch from: a public http(s) URL.
      if (!described?.inbox) return void (await once(ctx, follow, follow.objectId, async () => 'ignored: the follower could not be fetched or has no usable inbox'));
      const status = target.manuallyApprovesFollowers ? 'pending' : 'accepted';
      const accept = await activityJson(ctx, new Accept({ id: new URL(`#accepts/${randomUUID()}`, ctx.getActorUri(target.handle)), actor: ctx.getActorUri(target.handle), object: follow, to: sender }));
      await once(ctx, follow, follow.objectId, async (trx) => {
        await rememberActor(trx, described);
        const existing = await trx.selectFrom('ap_followers').select('status').where('actor', '=', target.handle).where('follower_uri', '=', sender.href).executeTakeFirst();
        // A repeated Follow (the other server was not sure it went through) is answered again.
        const nextStatus = existing?.status === 'accepted' ? 'accepted' : status;
        await trx
          .insertInto('ap_followers')
          .values({ actor: target.handle, follower_uri: sender.href, follow_id: follow.id!.href, status: nextStatus })
          .onConflict((oc) => oc.columns(['actor', 'follower_uri']).doUpdateSet({ follow_id: follow.id!.href, status: nextStatus }))
          .execute();
        if (nextStatus === 'pending') {
          await notify(trx, target.handle, 'follow-request', sender.href, null, follow.id!.href);
          return 'accepted: awaiting approval';
        }
        await queueActivity(trx, { sender: target.handle, activity: accept, recipients: [{ id: sender.href, inbox: described.inbox!, sharedInbox: described.shared_inbox }] });
        if (!existing) await notify(trx, target.handle, 'follow', sender.href, null, follow.id!.href);
        return 'accepted';
      });
    })
    .on(Accept, async (ctx, accept) => {
      const followId = accept.objectId;
      await once(ctx, accept, followId, async (trx) => {
        if (!followId || !accept.actorId) return 'ignored: no follow';
        const row = await trx.selectFrom('ap_following').select(['actor', 'target_uri']).where('follow_id', '=', followId.href).executeTakeFirst();
        // Only the followed actor can accept.
        if (!row || row.target_uri !== accept.actorId.href) return 'ignored: not an answer to a follow of ours';
        await trx.updateTable('ap_following').set({ status: 'accepted' }).where('follow_id', '=', followId.href).execute();
        return 'accepted';
      });
    })
    .on(Reject, async (ctx, reject) => {
      const followId = reject.objectId;
      await once(ctx, reject, followId, async (trx) => {
        if (!followId || !reject.actorId) return 'ignored: no follow';
        const result = await trx.deleteFrom('ap_following').where('follow_id', '=', followId.href).where('target_uri', '=', reject.actorId.href).executeTakeFirst();
        return Number(result.numDeletedRows) ? 'accepted' : 'ignored: not an answer to a follow of ours';
      });
    })
    .on(Undo, async (ctx, undo) => {
      const sender = undo.actorId;
      // The undone activity, as embedded (Mastodon embeds it); never fetched from elsewhere.
      const embedded = ctx.data.raw ? typeof ctx.data.raw.object === 'object' && ctx.data.raw.object !== null : true;
      const inner = embedded ? await undo.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader, suppressError: true, crossOrigin: 'ignore' }) : null;
      await once(ctx, undo, undo.objectId, async (trx) => {
        if (!sender) return 'ignored: nothing to undo';
        if (!inner) {
          // Only the id of the undone activity (some servers do not embed it): whatever of the
          // sender's we recorded under that id goes.
          const id = undo.objectId?.href;
          if (!id) return 'ignored: nothing to undo';
          const follows = await trx.deleteFrom('ap_followers').where('follower_uri', '=', sender.href).where('follow_id', '=', id).executeTakeFirst();
          const reactions = await trx.deleteFrom('ap_reactions').where('actor_uri', '=', sender.href).where('activity_id', '=', id).executeTakeFirst();
          return Number(follows.numDeletedRows) + Number(reactions.numDeletedRows) ? 'accepted' : 'ignored: nothing to undo';
        }
        if (inner instanceof Activity && inner.actorId?.href !== sender.href) return 'refused: an activity of someone else';
        if (inner instanceof Follow) {
          const result = await trx
            .deleteFrom('ap_followers')
            .where('follower_uri', '=', sender.href)
            .where((eb) => {
              const target = ours(inner.objectId) ? ctx.parseUri(inner.objectId!) : null;
              const byId = inner.id ? eb('follow_id', '=', inner.id.href) : eb.val(false);
              return target?.type === 'actor' ? eb.or([byId, eb('actor', '=', target.identifier)]) : byId;
            })
            .executeTakeFirst();
          return Number(result.numDeletedRows) ? 'accepted' : 'ignored: not following';
        }
        if (inner instanceof Like || inner instanceof Announce) {
          const kind = inner instanceof Like ? 'like' : 'announce';
          const result = await trx
            .deleteFrom('ap_reactions')
            .where('actor_uri', '=', sender.href)
            .where('kind', '=', kind)
            .where((eb) => eb.or([...(inner.id ? [eb('activity_id', '=', inner.id.href)] : []), ...(inner.objectId ? [eb('object_uri', '=', inner.objectId.href)] : [])]))
            .executeTakeFirst();
          return Number(result.numDeletedRows) ? 'accepted' : 'ignored: no such reaction';
        }
        return 'ignored: cannot undo that';
      });
    })
    .on(Create, async (ctx, create) => {
      const object = await create.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader, suppressError: true });
      const sender = create.actorId;
      if (!object || !sender) return void (await once(ctx, create, create.objectId, async () => 'ignored: no object'));
      if (await isBlocked(db, sender.href)) return void (await once(ctx, create, create.objectId, async () => 'ignored: blocked'));
      const post = await postOf(ctx, create, object);
      if (typeof post === 'string') return void (await once(ctx, create, create.objectId, async () => post));
      const about = await concerned(ctx, post);
      if (!about.reply && about.mentioned.length === 0 && !about.followed) return void (await once(ctx, create, create.objectId, async () => 'ignored: addressed to no one here'));
      const author = await fetchActor(ctx, create);
      const described = author?.id?.href === sender.href ? await describeActor(author, clock.now(), ctx, deps) : null;
      await once(ctx, create, create.objectId, async (trx) => {
        if (described) await rememberActor(trx, described);
        await storePost(trx, post);
        const activityId = create.id?.href ?? post.uri;
        // A member who blocked the sender hears nothing from them.
        if (about.reply && !(await isBlocked(trx, sender.href, about.reply.actor))) await notify(trx, about.reply.actor, 'reply', sender.href, post.uri, activityId);
        for (const handle of about.mentioned) if (handle !== about.reply?.actor && !(await isBlocked(trx, sender.href, handle))) await notify(trx, handle, 'mention', sender.href, post.uri, activityId);
        return 'accepted';
      });
    })
    .on(Update, async (ctx, update) => {
      const sender = update.actorId;
      const object = await update.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader, suppressError: true });
      if (!object || !sender) return void (await once(ctx, update, update.objectId, async () => 'ignored: no object'));
      if (isActor(object)) {
        // A profile change: only an actor's own.
        if (object.id?.href !== sender.href) return void (await once(ctx, update, update.objectId, async () => 'refused: a profile of someone else'));
        const described = await describeActor(object, clock.now(), ctx, deps);
        return void (await once(ctx, update, update.objectId, async (trx) => (described ? (await rememberActor(trx, described), 'accepted') : 'ignored: not a usable actor')));
      }
      const post = await postOf(ctx, update, object);
      await once(ctx, update, update.objectId, async (trx) => {
        if (typeof post === 'string') return post;
        const known = await trx.selectFrom('ap_posts').select('actor_uri').where('uri', '=', post.uri).executeTakeFirst();
        if (!known) return 'ignored: a post we do not have';
        if (known.actor_uri !== sender.href) return 'refused: a post of someone else';
        await storePost(trx, post);
        return 'accepted';
      });
    })
    .on(Delete, async (ctx, del) => {
      const sender = del.actorId;
      const objectId = del.objectId;
      await once(ctx, del, objectId, async (trx) => {
        if (!sender || !objectId) return 'ignored: nothing to delete';
        if (!sameOrigin(objectId, sender)) return 'refused: an object of another server';
        if (objectId.href === sender.href) {
          // The account is gone: forget its follows, posts and reactions.
          await trx.deleteFrom('ap_followers').where('follower_uri', '=', sender.href).execute();
          await trx.deleteFrom('ap_following').where('target_uri', '=', sender.href).execute();
          await trx.deleteFrom('ap_posts').where('actor_uri', '=', sender.href).execute();
          await trx.deleteFrom('ap_reactions').where('actor_uri', '=', sender.href).execute();
          await trx.updateTable('ap_remote_actors').set({ gone_at: clock.now() }).where('uri', '=', sender.href).execute();
          return 'accepted: account removed';
        }
        const result = await trx.deleteFrom('ap_posts').where('uri', '=', objectId.href).where('actor_uri', '=', sender.href).executeTakeFirst();
        return Number(result.numDeletedRows) ? 'accepted' : 'ignored: a post we do not have';
      });
    })
    .on(Like, async (ctx, like) => reaction(ctx, like, 'like'))
    .on(Announce, async (ctx, announce) => reaction(ctx, announce, 'announce'))
    .on(Block, async (ctx, block) => {
      const target = await localActorOf(ctx, block.objectId);
      const sender = block.actorId;
      await once(ctx, block, block.objectId, async (trx) => {
        if (!target || !sender) return 'ignored: not a block of one of our actors';
        // They no longer see us, and we stop sending to them.
        await trx.deleteFrom('ap_followers').where('actor', '=', target.handle).where('follower_uri', '=', sender.href).execute();
        await trx.deleteFrom('ap_following').where('actor', '=', target.handle).where('target_uri', '=', sender.href).execute();
        return 'accepted';
      });
    })
    .on(Move, async (ctx, move) => {
      const sender = move.actorId;
      // A Move's object is the account moving (the sender itself); the target must name it as an alias.
      const targetId = move.targetId;
      if (!sender || !targetId || move.objectId?.href !== sender.href) return void (await once(ctx, move, move.objectId, async () => 'refused: only an account can move itself'));
      const target = await ctx.lookupObject(targetId).catch(() => null);
      if (!isActor(target) || !target.id || !target.aliasIds.some((a) => a.href === sender.href)) {
        return void (await once(ctx, move, move.objectId, async () => 'refused: the new account does not name the old one as an alias'));
      }
      const described = await describeActor(target, clock.now(), ctx, deps);
      if (!described?.inbox) return void (await once(ctx, move, move.objectId, async () => 'ignored: the new account has no usable inbox'));
      // Our actors that followed the old account follow the new one.
      const movers = await db.selectFrom('ap_following').select('actor').where('target_uri', '=', sender.href).execute();
      const follows = await Promise.all(
        movers.map(async ({ actor }) => {
          const followId = new URL(`#follows/${randomUUID()}`, ctx.getActorUri(actor)).href;
          return { actor, followId, json: await activityJson(ctx, new Follow({ id: new URL(followId), actor: ctx.getActorUri(actor), object: target.id!, to: target.id! })) };
        }),
      );
      await once(ctx, move, move.objectId, async (trx) => {
        await rememberActor(trx, described);
        await trx.updateTable('ap_remote_actors').set({ moved_to: target.id!.href }).where('uri', '=', sender.href).execute();
        for (const { actor, followId, json } of follows) {
          await trx.deleteFrom('ap_following').where('actor', '=', actor).where('target_uri', '=', sender.href).execute();
          await trx
            .insertInto('ap_following')
            .values({ actor, target_uri: target.id!.href, follow_id: followId, status: 'pending' })
            .onConflict((oc) => oc.doNothing())
            .execute();
          await queueActivity(trx, { sender: actor, activity: json, recipients: [{ id: target.id!.href, inbox: described.inbox!, sharedInbox: described.shared_inbox }] });
        }
        return `accepted: ${follows.length} follow(s) moved`;
      });
    })
    .on(Activity, async (ctx, activity) => {
      await once(ctx, activity, activity.objectId, async () => `ignored: ${activity.constructor.name} is not handled`);
    })
    .onError((_ctx, error) => logger.error({ err: error }, 'an incoming activity could not be handled'))
    // Documents fetched while handling a shared-inbox delivery (the sender, its object) are
    // fetched signed, as the blog: servers with authorized fetch answer only signed requests.
    .setSharedKeyDispatcher(() => ({ identifier: 'blog' }));

  async function reaction(ctx: InboxContext<FederationData>, activity: Like | Announce, kind: 'like' | 'announce') {
    const sender = activity.actorId;
    const objectId = activity.objectId;
    await once(ctx, activity, objectId, async (trx) => {
      if (!sender || !objectId || !ours(objectId)) return 'ignored: not one of our objects';
      if (await isBlocked(trx, sender.href)) return 'ignored: blocked';
      const id = ourObjectId(ctx, objectId);
      const object = id ? await trx.selectFrom('ap_objects').select('actor').where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst() : undefined;
      if (!object) return 'ignored: not one of our objects';
      const activityId = activity.id?.href ?? `${kind}:${sender.href}:${objectId.href}`;
      const inserted = await trx
        .insertInto('ap_reactions')
        .values({ object_uri: objectId.href, actor_uri: sender.href, kind, activity_id: activityId })
        .onConflict((oc) => oc.doNothing())
        .returning('kind')
        .executeTakeFirst();
      if (inserted && !(await isBlocked(trx, sender.href, object.actor))) await notify(trx, object.actor, kind, sender.href, objectId.href, activityId);
      return inserted ? 'accepted' : 'ignored: already recorded';
    });
  }
}


/** How long activities that changed nothing stay in the inbox log. */
const ignoredKeptDays = 30;

/** Forgets logged activities that changed nothing, after a month (what changed something stays). */
export async function pruneInboxLog(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('ap_inbox')
    .where('received_at', '<', new Date(now.getTime() - ignoredKeptDays * 86_400_000))
    .where('outcome', 'not like', 'accepted%')
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
