import { randomUUID } from 'node:crypto';
import type { Context, Federation } from '@fedify/fedify';
import { Accept, Follow, Like, Reject, Undo, isActor, type Actor } from '@fedify/vocab';
import { sql, type Kysely, type Selectable } from 'kysely';
import { err, ok, type Clock, type Result } from '@rose/core';
import type { ApNotificationKind, ApPostsTable, ApTag, ApVisibility, Database } from '@rose/db';
import type { FederationData } from './federation.ts';
import { enableMemberActor, findActor, findActorOfUser, listActors, partActors, rotateKeys, updateMemberActor, type HandleProblem, type LocalActor, type PartActor } from './actors.repository.ts';
import { composeNote } from './content/compose.ts';
import { htmlToPlainText } from './content/sanitise.ts';
import { activityJson, federationProfileJob, queueActivity, type DeliveryRecipient } from './delivery.ts';
import { enqueue } from '@rose/jobs';
import { isObjectId, objectActivity, objectDigest, objectUri, ourObjectId, storedObjectColumns, toStoredObject, type StoredObject } from './objects.ts';
import { describeActor, findRemoteActor, findRemoteActors, isBlocked, rememberActor, type RemoteActor } from './remote-actors.ts';

export interface SocialDeps {
  db: Kysely<Database>;
  federation: () => Promise<Federation<FederationData>>;
  siteUrl: string;
  clock: Clock;
  /** Called after a delivery was queued (wakes the outbox worker). */
  onJobQueued?: () => void;
  /** Where a hashtag's page is. */
  hashtagUrl(tag: string): string;
  /** A local actor's profile page. */
  profilePath(handle: string): string;
  /** Tests only: remote actors on loopback and private addresses are usable. */
  allowPrivateAddress?: boolean;
}

/** Someone shown beside a post: one of ours or another server's. */
export interface Author {
  uri: string;
  handle: string;
  name: string;
  iconUrl: string | null;
  local: boolean;
}

export interface TimelineItem {
  uri: string;
  url: string | null;
  author: Author;
  type: string;
  name: string | null;
  summary: string | null;
  contentHtml: string;
  sensitive: boolean;
  visibility: ApVisibility;
  inReplyTo: string | null;
  attachments: { url: string; mediaType?: string; name?: string }[];
  publishedAt: Date;
  likes: number;
  likedByMe: boolean;
}

export interface Notification {
  id: string;
  kind: ApNotificationKind;
  from: Author;
  objectUri: string | null;
  excerpt: string | null;
  createdAt: Date;
  read: boolean;
}

export type ComposeProblem = { type: 'no-profile' } | { type: 'empty' | 'too-long' | 'bad-reply'; message: string };
export type FollowProblem = { type: 'no-profile' } | { type: 'not-found'; message: string } | { type: 'blocked' } | { type: 'self' };

const handleOf = (handle: string, host: string) => `@${handle}@${host}`;

/**
 * The social hub's verbs over the federation: profiles, compose, follow, timeline,
 * notifications, moderation, and what staff do from the CLI. Every change that other servers
 * must hear about queues its activity in the change's own transaction.
 */
export function createSocial(deps: SocialDeps) {
  const { db, clock } = deps;
  const origin = new URL(deps.siteUrl).origin;
  const host = new URL(deps.siteUrl).host;
  const context = async (): Promise<Context<FederationData>> => (await deps.federation()).createContext(new URL(origin), {});
  const actorUri = async (handle: string) => (await context()).getActorUri(handle).href;
  const woke = () => deps.onJobQueued?.();

  const localAuthor = (a: { handle: string; display_name: string }, uri: string): Author => ({ uri, handle: handleOf(a.handle, host), name: a.display_name, iconUrl: null, local: true });
  const remoteAuthor = (uri: string, r: RemoteActor | undefined): Author => ({ uri, handle: r?.handle ? `@${r.handle}` : uri, name: r?.name || r?.handle || new URL(uri).host, iconUrl: r?.iconUrl ?? null, local: false });

  /** Authors by URI, ours and others'. */
  const authors = async (uris: string[]): Promise<Map<string, Author>> => {
    const ctx = await context();
    const out = new Map<string, Author>();
    const remote: string[] = [];
    // Ours are named by their URI; only those asked for are read.
    const handles = new Map<string, string>();
    for (const uri of new Set(uris)) {
      const parsed = uri.startsWith(`${origin}/`) ? ctx.parseUri(new URL(uri)) : null;
      if (parsed?.type === 'actor') handles.set(parsed.identifier, uri);
      else remote.push(uri);
    }
    const locals = handles.size ? await db.selectFrom('ap_actors').select(['handle', 'display_name']).where('handle', 'in', [...handles.keys()]).execute() : [];
    for (const local of locals) out.set(handles.get(local.handle)!, localAuthor(local, handles.get(local.handle)!));
    // A local URI naming no actor (a removed member) shows as its URI.
    for (const uri of handles.values()) if (!out.has(uri)) out.set(uri, remoteAuthor(uri, undefined));
    const found = await findRemoteActors(db, remote);
    for (const uri of remote) out.set(uri, remoteAuthor(uri, found.get(uri)));
    return out;
  };

  /** Like counts of these items, and whether `viewer` (one of our handles) liked each. */
  const withLikes = async (items: TimelineItem[], viewer?: string): Promise<TimelineItem[]> => {
    if (items.length === 0) return items;
    const me = viewer ? (await context()).getActorUri(viewer).href : undefined;
    const likes = await db.selectFrom('ap_reactions').select(['object_uri', 'actor_uri']).where('object_uri', 'in', items.map((i) => i.uri)).where('kind', '=', 'like').execute();
    return items.map((item) => {
      const of = likes.filter((l) => l.object_uri === item.uri);
      return { ...item, likes: of.length, likedByMe: me !== undefined && of.some((l) => l.actor_uri === me) };
    });
  };

  /**
   * Looks up an actor by `@user@host`, `user@host`, or URL, and remembers it. Fetches are
   * signed as `as` (the blog by default): servers with authorized fetch (GoToSocial, Mastodon
   * in secure mode) answer only signed requests.
   */
  const resolveActor = async (target: string, as = 'blog'): Promise<Actor | undefined> => {
    const ctx = await context();
    const trimmed = target.trim();
    const query = /^@?[^@\s/]+@[^@\s/]+$/.test(trimmed) ? (trimmed.startsWith('@') ? trimmed : `@${trimmed}`) : trimmed;
    if (!query.startsWith('@')) {
      try {
        const url = new URL(query);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
      } catch {
        return undefined;
      }
    }
    const documentLoader = await ctx.getDocumentLoader({ identifier: as }).catch(() => ctx.documentLoader);
    const found = await ctx.lookupObject(query, { documentLoader }).catch(() => null);
    if (!isActor(found) || !found.id) return undefined;
    const described = await describeActor(found, clock.now(), ctx, deps);
    if (described) await rememberActor(db, described);
    return found;
  };

  /** The handle of one of ours named by `target` (its actor URL, `@handle@host` here, or `@handle`), if it names one. */
  const localActorHandle = async (target: string): Promise<string | undefined> => {
    const t = target.trim();
    if (t.startsWith(`${origin}/`) && URL.canParse(t)) {
      const parsed = (await context()).parseUri(new URL(t));
      return parsed?.type === 'actor' ? parsed.identifier : undefined;
    }
    const m = /^@?([a-z0-9_]{1,30})(?:@([^@\s/]+))?$/i.exec(t);
    return m && (!m[2] || m[2].toLowerCase() === host.toLowerCase()) ? m[1]!.toLowerCase() : undefined;
  };

  const recipientOf = (actor: { id: string; inbox: string | null; sharedInbox: string | null }): DeliveryRecipient | undefined => (actor.inbox ? { id: actor.id, inbox: actor.inbox, sharedInbox: actor.sharedInbox } : undefined);

  /** Stores a new object of ours and queues its Create, in one transaction. */
  const publish = async (o: Omit<StoredObject, 'publishedAt' | 'updatedAt' | 'deletedAt'> & { source?: string }, recipients: DeliveryRecipient[]): Promise<StoredObject> => {
    const ctx = await context();
    const stored: StoredObject = { ...o, publishedAt: clock.now(), updatedAt: null, deletedAt: null };
    const json = await activityJson(ctx, objectActivity(ctx, 'Create', stored, randomUUID()));
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('ap_objects')
        .values({
          id: o.id,
          actor: o.actor,
          type: o.type,
          source: o.source ?? null,
          name: o.name,
          summary: o.summary,
          content_html: o.contentHtml,
          url: o.url,
          in_reply_to: o.inReplyTo,
          visibility: o.visibility,
          tags: JSON.stringify(o.tags),
          extra: JSON.stringify(o.extra),
          digest: objectDigest(o),
          published_at: stored.publishedAt,
        })
        .execute();
      await queueActivity(trx, { sender: o.actor, activity: json, followers: o.visibility !== 'direct', recipients });
    });
    woke();
    return stored;
  };

  const social = {
    /** All our actors (parts first). */
    actors: () => listActors(db),
    actor: (handle: string) => findActor(db, handle),
    actorOfUser: (userId: string) => findActorOfUser(db, userId),
    actorUri,
    /** `@handle@host` of one of ours. */
    address: (handle: string) => handleOf(handle, host),

    /** Turns on a member's profile (the handle is chosen once). */
    async enableProfile(input: { userId: string; handle: string; displayName: string; manuallyApprovesFollowers?: boolean }): Promise<Result<LocalActor, HandleProblem>> {
      return enableMemberActor(db, input);
    },
    /** Edits a member's profile; their followers' servers get an Update of it. */
    async updateProfile(userId: string, changes: { displayName?: string; summary?: string; manuallyApprovesFollowers?: boolean }): Promise<boolean> {
      const actor = await findActorOfUser(db, userId);
      if (!actor) return false;
      const changed = await db.transaction().execute(async (trx) => {
        if (!(await updateMemberActor(trx, userId, changes, clock))) return false;
        await enqueue(trx, federationProfileJob, { actor: actor.handle });
        return true;
      });
      if (changed) woke();
      return changed;
    },

    /**
     * Publishes a Note as `handle`: markdown to sanitised HTML, mentions resolved (and sent
     * to), hashtags linked; a reply names the post it answers.
     */
    async compose(handle: string, input: { text: string; summary?: string; visibility: ApVisibility; inReplyTo?: string }): Promise<Result<{ id: string; uri: string }, ComposeProblem>> {
      const actor = await findActor(db, handle);
      if (!actor) return err({ type: 'no-profile' });
      const resolved: RemoteActor[] = [];
      const localMentions: string[] = [];
      const composed = await composeNote(input.text, {
        resolveMention: async ({ user, host: mentionHost }) => {
          if (!mentionHost || mentionHost === host) {
            const local = await findActor(db, user.toLowerCase());
            if (!local) return undefined;
            const uri = await actorUri(local.handle);
            localMentions.push(uri);
            return { id: uri, url: uri, handle: handleOf(local.handle, host) };
          }
          const found = await resolveActor(`@${user}@${mentionHost}`, handle);
          const remote = found?.id ? await findRemoteActor(db, found.id.href) : undefined;
          if (!remote) return undefined;
          resolved.push(remote);
          return { id: remote.uri, url: remote.url ?? remote.uri, handle: `@${remote.handle ?? `${user}@${mentionHost}`}` };
        },
        hashtagUrl: (tag) => new URL(deps.hashtagUrl(tag), origin).href,
      });
      if (!composed.ok) return err(composed.error);
      let inReplyTo: string | null = null;
      /** Our own actor whose post this replies to (notified directly: nothing is delivered to ourselves). */
      let localParent: string | undefined;
      const recipients: DeliveryRecipient[] = [];
      if (input.inReplyTo) {
        const parentUri = (() => {
          try {
            return new URL(input.inReplyTo!);
          } catch {
            return undefined;
          }
        })();
        if (!parentUri || input.inReplyTo.length > 2048) return err({ type: 'bad-reply', message: 'That post is not one we know.' });
        const parent = await db.selectFrom('ap_posts').select(['uri', 'actor_uri']).where('uri', '=', parentUri.href).executeTakeFirst();
        const ownId = parent ? undefined : ourObjectId(await context(), parentUri);
        const ownParent = ownId ? await db.selectFrom('ap_objects').select('actor').where('id', '=', ownId).where('deleted_at', 'is', null).executeTakeFirst() : undefined;
        if (!parent && !ownParent) return err({ type: 'bad-reply', message: 'That post is not one we know.' });
        inReplyTo = parentUri.href;
        localParent = ownParent?.actor;
        if (parent) {
          const author = await findRemoteActor(db, parent.actor_uri);
          const r = author && recipientOf({ id: author.uri, inbox: author.inbox, sharedInbox: author.sharedInbox });
          if (r) recipients.push(r);
        }
      }
      for (const m of resolved) {
        const r = recipientOf({ id: m.uri, inbox: m.inbox, sharedInbox: m.sharedInbox });
        if (r && !recipients.some((x) => x.id === r.id)) recipients.push(r);
      }
      const tags: ApTag[] = [...composed.value.mentions.map((m) => ({ type: 'Mention' as const, name: m.name, href: m.id })), ...composed.value.hashtags.map((h) => ({ type: 'Hashtag' as const, name: h.name, href: h.href }))];
      const id = randomUUID();
      const stored = await publish({ id, actor: handle, type: 'Note', name: null, summary: input.summary?.trim().slice(0, 500) || null, contentHtml: composed.value.html, url: null, inReplyTo, visibility: input.visibility, tags, extra: {} }, recipients);
      const ctx = await context();
      const uri = objectUri(ctx, stored).href;
      // Our own members mentioned or replied to hear of it here (nothing is delivered to ourselves).
      const me = ctx.getActorUri(handle).href;
      const told = new Set<string>();
      const tell = async (actor: string, kind: 'mention' | 'reply') => {
        if (actor === handle || told.has(actor)) return;
        told.add(actor);
        await db.insertInto('ap_notifications').values({ actor, kind, from_uri: me, object_uri: uri, activity_id: uri }).onConflict((oc) => oc.doNothing()).execute();
      };
      if (localParent) await tell(localParent, 'reply');
      for (const mention of localMentions) {
        const parsed = ctx.parseUri(new URL(mention));
        if (parsed?.type === 'actor') await tell(parsed.identifier, 'mention');
      }
      return ok({ id: stored.id, uri });
    },

    /** Follows a remote actor (by handle or URL) as `handle`; a local one is followed at once. */
    async follow(handle: string, target: string): Promise<Result<{ uri: string; status: 'pending' | 'accepted' }, FollowProblem>> {
      const actor = await findActor(db, handle);
      if (!actor) return err({ type: 'no-profile' });
      const ctx = await context();
      const me = ctx.getActorUri(handle);
      // One of ours (its URL, @handle@our-host or @handle) is found here, not over the network.
      const localHandle = await localActorHandle(target);
      const local = localHandle ? await findActor(db, localHandle) : undefined;
      const found = local ? { id: ctx.getActorUri(local.handle) } : await resolveActor(target, handle);
      if (!found?.id) return err({ type: 'not-found', message: `No account found at ${target.slice(0, 200)}.` });
      if (found.id.href === me.href) return err({ type: 'self' });
      if (await isBlocked(db, found.id.href, handle)) return err({ type: 'blocked' });
      const parsed = ctx.parseUri(found.id);
      if (found.id.origin === origin && parsed?.type === 'actor') {
        // One of ours: nothing to send; a member who approves followers is asked here.
        const target = await findActor(db, parsed.identifier);
        const status = target?.manuallyApprovesFollowers ? 'pending' : 'accepted';
        const followId = `${me.href}#follows/${randomUUID()}`;
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('ap_following').values({ actor: handle, target_uri: found.id!.href, follow_id: followId, status }).onConflict((oc) => oc.doNothing()).execute();
          const added = await trx.insertInto('ap_followers').values({ actor: parsed.identifier, follower_uri: me.href, follow_id: followId, status }).onConflict((oc) => oc.doNothing()).returning('status').executeTakeFirst();
          if (added) await trx.insertInto('ap_notifications').values({ actor: parsed.identifier, kind: status === 'pending' ? 'follow-request' : 'follow', from_uri: me.href, object_uri: null, activity_id: followId }).onConflict((oc) => oc.doNothing()).execute();
        });
        const row = await db.selectFrom('ap_following').select('status').where('actor', '=', handle).where('target_uri', '=', found.id.href).executeTakeFirstOrThrow();
        return ok({ uri: found.id.href, status: row.status });
      }
      // The inbox as remembered: checked to be a public address.
      const remote = await findRemoteActor(db, found.id.href);
      if (!remote?.inbox) return err({ type: 'not-found', message: 'That account takes no deliveries.' });
      const followId = new URL(`#follows/${randomUUID()}`, me);
      const json = await activityJson(ctx, new Follow({ id: followId, actor: me, object: found.id, to: found.id }));
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('ap_following')
          .values({ actor: handle, target_uri: found.id!.href, follow_id: followId.href, status: 'pending' })
          .onConflict((oc) => oc.columns(['actor', 'target_uri']).doUpdateSet({ follow_id: followId.href }))
          .execute();
        await queueActivity(trx, { sender: handle, activity: json, recipients: [{ id: remote.uri, inbox: remote.inbox!, sharedInbox: remote.sharedInbox }] });
      });
      woke();
      const row = await db.selectFrom('ap_following').select('status').where('actor', '=', handle).where('target_uri', '=', found.id.href).executeTakeFirstOrThrow();
      return ok({ uri: found.id.href, status: row.status });
    },

    async unfollow(handle: string, targetUri: string): Promise<boolean> {
      const row = await db.selectFrom('ap_following').select(['follow_id']).where('actor', '=', handle).where('target_uri', '=', targetUri).executeTakeFirst();
      if (!row) return false;
      const ctx = await context();
      const me = ctx.getActorUri(handle);
      const target = await findRemoteActor(db, targetUri);
      const undo = target?.inbox ? await activityJson(ctx, new Undo({ id: new URL(`#undo/${randomUUID()}`, me), actor: me, object: new Follow({ id: new URL(row.follow_id), actor: me, object: new URL(targetUri) }), to: new URL(targetUri) })) : undefined;
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('ap_following').where('actor', '=', handle).where('target_uri', '=', targetUri).execute();
        const local = ctx.parseUri(new URL(targetUri));
        if (local?.type === 'actor') await trx.deleteFrom('ap_followers').where('actor', '=', local.identifier).where('follower_uri', '=', me.href).execute();
        if (undo && target?.inbox) await queueActivity(trx, { sender: handle, activity: undo, recipients: [{ id: target.uri, inbox: target.inbox, sharedInbox: target.sharedInbox }] });
      });
      woke();
      return true;
    },

    /** A member who approves followers answers a request. */
    async answerFollowRequest(handle: string, followerUri: string, approve: boolean): Promise<boolean> {
      const row = await db.selectFrom('ap_followers').select(['follow_id', 'status']).where('actor', '=', handle).where('follower_uri', '=', followerUri).executeTakeFirst();
      if (!row || row.status !== 'pending') return false;
      const ctx = await context();
      const me = ctx.getActorUri(handle);
      const follower = await findRemoteActor(db, followerUri);
      const follow = new Follow({ id: new URL(row.follow_id), actor: new URL(followerUri), object: me });
      const answer = approve ? new Accept({ id: new URL(`#accepts/${randomUUID()}`, me), actor: me, object: follow, to: new URL(followerUri) }) : new Reject({ id: new URL(`#rejects/${randomUUID()}`, me), actor: me, object: follow, to: new URL(followerUri) });
      const json = await activityJson(ctx, answer);
      // A member of ours asking: their side of the follow is here too.
      const localFollower = followerUri.startsWith(`${origin}/`) ? ctx.parseUri(new URL(followerUri)) : null;
      await db.transaction().execute(async (trx) => {
        if (approve) await trx.updateTable('ap_followers').set({ status: 'accepted' }).where('actor', '=', handle).where('follower_uri', '=', followerUri).execute();
        else await trx.deleteFrom('ap_followers').where('actor', '=', handle).where('follower_uri', '=', followerUri).execute();
        if (localFollower?.type === 'actor') {
          const theirs = trx.updateTable('ap_following').set({ status: 'accepted' }).where('actor', '=', localFollower.identifier).where('target_uri', '=', me.href);
          if (approve) await theirs.execute();
          else await trx.deleteFrom('ap_following').where('actor', '=', localFollower.identifier).where('target_uri', '=', me.href).execute();
        }
        if (follower?.inbox) await queueActivity(trx, { sender: handle, activity: json, recipients: [{ id: follower.uri, inbox: follower.inbox, sharedInbox: follower.sharedInbox }] });
      });
      woke();
      return true;
    },

    async followers(handle: string, opts: { status?: 'pending' | 'accepted'; limit?: number; offset?: number } = {}): Promise<{ author: Author; status: 'pending' | 'accepted'; since: Date }[]> {
      const rows = await db
        .selectFrom('ap_followers')
        .select(['follower_uri', 'status', 'created_at'])
        .where('actor', '=', handle)
        .$if(Boolean(opts.status), (q) => q.where('status', '=', opts.status!))
        .orderBy('created_at', 'desc')
        .limit(Math.min(opts.limit ?? 100, 1000))
        .offset(opts.offset ?? 0)
        .execute();
      const who = await authors(rows.map((r) => r.follower_uri));
      return rows.map((r) => ({ author: who.get(r.follower_uri)!, status: r.status, since: r.created_at }));
    },

    async following(handle: string): Promise<{ author: Author; status: 'pending' | 'accepted'; since: Date }[]> {
      const rows = await db.selectFrom('ap_following').select(['target_uri', 'status', 'created_at']).where('actor', '=', handle).orderBy('created_at', 'desc').limit(1000).execute();
      const who = await authors(rows.map((r) => r.target_uri));
      return rows.map((r) => ({ author: who.get(r.target_uri)!, status: r.status, since: r.created_at }));
    },

    /**
     * The home timeline of `handle`: posts of those it follows, posts that mention it, and
     * everything the co-op's parts and it published, newest first.
     */
    async timeline(handle: string, opts: { before?: Date; limit?: number } = {}): Promise<TimelineItem[]> {
      const limit = Math.min(opts.limit ?? 40, 100);
      const ctx = await context();
      const me = ctx.getActorUri(handle).href;
      const remote = await db
        .selectFrom('ap_posts')
        .selectAll()
        .where('hidden_at', 'is', null)
        .$if(opts.before !== undefined, (q) => q.where('published_at', '<', opts.before!))
        .where((eb) =>
          eb.or([
            eb.and([eb('visibility', '!=', 'direct'), eb('actor_uri', 'in', eb.selectFrom('ap_following').select('target_uri').where('actor', '=', handle).where('status', '=', 'accepted'))]),
            eb(sql<string>`mentions`, '@>', sql<string>`${JSON.stringify([me])}::jsonb`),
          ]),
        )
        .orderBy('published_at', 'desc')
        .limit(limit)
        .execute();
      const followedLocal = (await db.selectFrom('ap_following').select('target_uri').where('actor', '=', handle).execute()).map((r) => ctx.parseUri(new URL(r.target_uri))).flatMap((p) => (p?.type === 'actor' ? [p.identifier] : []));
      const local = await db
        .selectFrom('ap_objects')
        .select(storedObjectColumns)
        .where('deleted_at', 'is', null)
        .$if(opts.before !== undefined, (q) => q.where('published_at', '<', opts.before!))
        .where((eb) => eb.or([eb('actor', '=', handle), eb.and([eb('actor', 'in', [...partActors, ...followedLocal]), eb('visibility', 'in', ['public', 'unlisted'])])]))
        .orderBy('published_at', 'desc')
        .limit(limit)
        .execute();
      const items = [
        ...remote.map((p) => ({ kind: 'remote' as const, p, at: p.published_at })),
        ...local.map((o) => ({ kind: 'local' as const, o: toStoredObject(o), at: o.published_at })),
      ]
        .sort((a, b) => b.at.getTime() - a.at.getTime())
        .slice(0, limit);
      const who = await authors(items.map((i) => (i.kind === 'remote' ? i.p.actor_uri : ctx.getActorUri(i.o.actor).href)));
      return withLikes(
        items.map((i) => (i.kind === 'remote' ? remoteItem(i.p, who.get(i.p.actor_uri)!) : localItem(ctx, i.o, who.get(ctx.getActorUri(i.o.actor).href)!))),
        handle,
      );
    },

    /** Our object named by one of our URIs, if it exists and is not deleted. */
    async localObject(uri: string): Promise<{ id: string; actor: string; type: string } | undefined> {
      const id = uri.startsWith(`${origin}/`) ? ourObjectId(await context(), uri) : undefined;
      if (!id) return undefined;
      return db.selectFrom('ap_objects').select(['id', 'actor', 'type']).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    },

    /** Likes a post (ours or another server's) as `handle`; the author's server is told. */
    async like(handle: string, objectUri: string): Promise<Result<void, { type: 'not-found' } | { type: 'no-profile' }>> {
      const actor = await findActor(db, handle);
      if (!actor) return err({ type: 'no-profile' });
      const ctx = await context();
      const me = ctx.getActorUri(handle);
      const post = await db.selectFrom('ap_posts').select('actor_uri').where('uri', '=', objectUri).executeTakeFirst();
      const local = post ? undefined : await social.localObject(objectUri);
      if (!post && !local) return err({ type: 'not-found' });
      const author = post ? await findRemoteActor(db, post.actor_uri) : undefined;
      const likeId = new URL(`#likes/${randomUUID()}`, me);
      const json = author?.inbox ? await activityJson(ctx, new Like({ id: likeId, actor: me, object: new URL(objectUri), to: new URL(author.uri) })) : undefined;
      let liked = false;
      await db.transaction().execute(async (trx) => {
        const inserted = await trx.insertInto('ap_reactions').values({ object_uri: objectUri, actor_uri: me.href, kind: 'like', activity_id: likeId.href }).onConflict((oc) => oc.doNothing()).returning('kind').executeTakeFirst();
        liked = inserted !== undefined;
        if (inserted && json && author?.inbox) await queueActivity(trx, { sender: handle, activity: json, recipients: [{ id: author.uri, inbox: author.inbox, sharedInbox: author.sharedInbox }] });
        // A member liking another member's post here: they hear of it directly.
        if (inserted && local && local.actor !== handle) {
          await trx.insertInto('ap_notifications').values({ actor: local.actor, kind: 'like', from_uri: me.href, object_uri: objectUri, activity_id: likeId.href }).onConflict((oc) => oc.doNothing()).execute();
        }
      });
      if (liked) woke();
      return ok(undefined);
    },

    /** Takes a like back (Undo(Like) to the author's server). */
    async unlike(handle: string, objectUri: string): Promise<boolean> {
      const ctx = await context();
      const me = ctx.getActorUri(handle);
      const row = await db.selectFrom('ap_reactions').select('activity_id').where('object_uri', '=', objectUri).where('actor_uri', '=', me.href).where('kind', '=', 'like').executeTakeFirst();
      if (!row) return false;
      const post = await db.selectFrom('ap_posts').select('actor_uri').where('uri', '=', objectUri).executeTakeFirst();
      const author = post ? await findRemoteActor(db, post.actor_uri) : undefined;
      const json = author?.inbox
        ? await activityJson(ctx, new Undo({ id: new URL(`#undo/${randomUUID()}`, me), actor: me, object: new Like({ id: new URL(row.activity_id), actor: me, object: new URL(objectUri) }), to: new URL(author.uri) }))
        : undefined;
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('ap_reactions').where('object_uri', '=', objectUri).where('actor_uri', '=', me.href).where('kind', '=', 'like').execute();
        if (json && author?.inbox) await queueActivity(trx, { sender: handle, activity: json, recipients: [{ id: author.uri, inbox: author.inbox, sharedInbox: author.sharedInbox }] });
      });
      woke();
      return true;
    },

    async notifications(handle: string, opts: { limit?: number; markRead?: boolean } = {}): Promise<Notification[]> {
      const rows = await db.selectFrom('ap_notifications').selectAll().where('actor', '=', handle).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(Math.min(opts.limit ?? 50, 200)).execute();
      const who = await authors(rows.map((r) => r.from_uri));
      const objectUris = rows.flatMap((r) => (r.object_uri ? [r.object_uri] : []));
      const posts = objectUris.length ? await db.selectFrom('ap_posts').select(['uri', 'content_html']).where('uri', 'in', objectUris).execute() : [];
      const text = new Map(posts.map((p) => [p.uri, htmlToPlainText(p.content_html, { maxLength: 200 })]));
      // Likes and boosts name our own posts: their text is ours.
      const ctx = await context();
      const ownIds = objectUris.flatMap((uri) => {
        const id = !text.has(uri) ? ourObjectId(ctx, uri) : undefined;
        return id ? [[uri, id] as const] : [];
      });
      if (ownIds.length) {
        const own = await db.selectFrom('ap_objects').select(['id', 'name', 'content_html']).where('id', 'in', ownIds.map(([, id]) => id)).execute();
        const byId = new Map(own.map((o) => [o.id, o.name ?? htmlToPlainText(o.content_html, { maxLength: 200 })]));
        for (const [uri, id] of ownIds) if (byId.has(id)) text.set(uri, byId.get(id)!);
      }
      if (opts.markRead) await db.updateTable('ap_notifications').set({ read_at: clock.now() }).where('actor', '=', handle).where('read_at', 'is', null).execute();
      return rows.map((r) => ({ id: r.id, kind: r.kind, from: who.get(r.from_uri)!, objectUri: r.object_uri, excerpt: r.object_uri ? (text.get(r.object_uri) ?? null) : null, createdAt: r.created_at, read: r.read_at !== null }));
    },

    async unreadNotifications(handle: string): Promise<number> {
      const row = await db.selectFrom('ap_notifications').select((eb) => eb.fn.countAll<number>().as('n')).where('actor', '=', handle).where('read_at', 'is', null).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** A remote actor's profile and the posts of theirs we have; fetched when not known yet. */
    async remoteProfile(uri: string, opts: { viewer?: string } = {}): Promise<{ actor: RemoteActor; posts: TimelineItem[] } | undefined> {
      let actor = await findRemoteActor(db, uri);
      if (!actor) {
        const found = await resolveActor(uri);
        actor = found?.id ? await findRemoteActor(db, found.id.href) : undefined;
      }
      if (!actor) return undefined;
      const rows = await db.selectFrom('ap_posts').selectAll().where('actor_uri', '=', actor.uri).where('hidden_at', 'is', null).where('visibility', 'in', ['public', 'unlisted']).orderBy('published_at', 'desc').limit(40).execute();
      const author = remoteAuthor(actor.uri, actor);
      return {
        actor,
        posts: await withLikes(
          rows.map((p) => remoteItem(p, author)),
          opts.viewer,
        ),
      };
    },

    /** One of our actors' public posts, for its profile page (with `viewer`'s likes). */
    async profilePosts(handle: string, opts: { viewer?: string; limit?: number } = {}): Promise<TimelineItem[]> {
      const ctx = await context();
      const rows = await db.selectFrom('ap_objects').select(storedObjectColumns).where('actor', '=', handle).where('deleted_at', 'is', null).where('visibility', 'in', ['public', 'unlisted']).orderBy('published_at', 'desc').limit(Math.min(opts.limit ?? 40, 100)).execute();
      const author = (await authors([ctx.getActorUri(handle).href])).get(ctx.getActorUri(handle).href)!;
      return withLikes(
        rows.map((row) => localItem(ctx, toStoredObject(row), author)),
        opts.viewer,
      );
    },

    /** The id of the object that federates the page at `url` (a blog post), for its replies island. */
    async objectUriOfUrl(url: string): Promise<string | undefined> {
      const row = await db.selectFrom('ap_objects').select(['id', 'type']).where('url', '=', url).where('deleted_at', 'is', null).orderBy('published_at', 'desc').executeTakeFirst();
      return row ? objectUri(await context(), row).href : undefined;
    },

    /** Public posts with a hashtag, newest first: other servers' and ours. */
    async tagged(tag: string, opts: { before?: Date; limit?: number; viewer?: string } = {}): Promise<TimelineItem[]> {
      const name = tag.replace(/^#/, '').toLowerCase();
      if (!/^[\p{L}\p{N}_]{1,100}$/u.test(name)) return [];
      const limit = Math.min(opts.limit ?? 40, 100);
      const ctx = await context();
      const remote = await db
        .selectFrom('ap_posts')
        .selectAll()
        .where('hidden_at', 'is', null)
        .where('visibility', 'in', ['public', 'unlisted'])
        .where(sql<string>`hashtags`, '@>', sql<string>`${JSON.stringify([name])}::jsonb`)
        .$if(opts.before !== undefined, (q) => q.where('published_at', '<', opts.before!))
        .orderBy('published_at', 'desc')
        .limit(limit)
        .execute();
      const local = await db
        .selectFrom('ap_objects')
        .select(storedObjectColumns)
        .where('deleted_at', 'is', null)
        .where('visibility', 'in', ['public', 'unlisted'])
        .where(sql<boolean>`exists (select 1 from jsonb_array_elements(tags) t where t->>'type' = 'Hashtag' and lower(t->>'name') = ${`#${name}`})`)
        .$if(opts.before !== undefined, (q) => q.where('published_at', '<', opts.before!))
        .orderBy('published_at', 'desc')
        .limit(limit)
        .execute();
      const who = await authors([...remote.map((p) => p.actor_uri), ...local.map((o) => ctx.getActorUri(o.actor).href)]);
      const items: TimelineItem[] = [
        ...remote.map((p) => remoteItem(p, who.get(p.actor_uri)!)),
        ...local.map((row) => {
          const o = toStoredObject(row);
          return localItem(ctx, o, who.get(ctx.getActorUri(o.actor).href)!);
        }),
      ];
      return withLikes(
        items.sort((a, b) => b.publishedAt.getTime() - a.publishedAt.getTime()).slice(0, limit),
        opts.viewer,
      );
    },

    /** Staff: the newest replies other servers sent to the co-op's parts' posts, with the post each answers. */
    async coopReplies(opts: { limit?: number; includeHidden?: boolean; before?: Date } = {}): Promise<(TimelineItem & { hidden: boolean; parent: { uri: string; name: string | null; url: string | null; actor: string } })[]> {
      // Our objects' ids as URIs, in SQL, so the limit counts replies to the parts' posts only.
      const uriOf = sql<string>`${`${origin}/ap/`} || (case o.type when 'Article' then 'articles' when 'Event' then 'events' else 'notes' end) || '/' || o.id::text`;
      const rows = await db
        .selectFrom('ap_posts as p')
        .innerJoin('ap_objects as o', (join) => join.on(sql<boolean>`p.in_reply_to = ${uriOf}`))
        .selectAll('p')
        .select(['o.actor as parent_actor', 'o.name as parent_name', 'o.url as parent_url'])
        .where('o.actor', 'in', [...partActors])
        .$if(!opts.includeHidden, (q) => q.where('p.hidden_at', 'is', null))
        .$if(opts.before !== undefined, (q) => q.where('p.published_at', '<', opts.before!))
        .orderBy('p.published_at', 'desc')
        .limit(Math.min(opts.limit ?? 50, 200))
        .execute();
      const who = await authors(rows.map((r) => r.actor_uri));
      return rows.map((r) => ({ ...remoteItem(r, who.get(r.actor_uri)!), hidden: r.hidden_at !== null, parent: { uri: r.in_reply_to!, name: r.parent_name, url: r.parent_url, actor: r.parent_actor } }));
    },

    /** Whether `handle` follows `targetUri` (and how far the request got). */
    async followStatus(handle: string, targetUri: string): Promise<'pending' | 'accepted' | undefined> {
      return (await db.selectFrom('ap_following').select('status').where('actor', '=', handle).where('target_uri', '=', targetUri).executeTakeFirst())?.status;
    },

    /** Replies other servers sent to one of our objects (hidden ones only for staff). */
    async repliesTo(objectUri: string, opts: { includeHidden?: boolean } = {}): Promise<(TimelineItem & { hidden: boolean })[]> {
      const rows = await db
        .selectFrom('ap_posts')
        .selectAll()
        .where('in_reply_to', '=', objectUri)
        .where('visibility', 'in', ['public', 'unlisted'])
        .$if(!opts.includeHidden, (q) => q.where('hidden_at', 'is', null))
        .orderBy('published_at')
        .limit(200)
        .execute();
      const who = await authors(rows.map((r) => r.actor_uri));
      return rows.map((p) => ({ ...remoteItem(p, who.get(p.actor_uri)!), hidden: p.hidden_at !== null }));
    },

    /** Where a browser sees one of our objects: the page it federates (a blog post), else its author's profile. */
    async objectPage(id: string): Promise<string | undefined> {
      if (!isObjectId(id)) return undefined;
      const row = await db.selectFrom('ap_objects').select(['url', 'actor', 'visibility', 'deleted_at']).where('id', '=', id).executeTakeFirst();
      if (!row || row.deleted_at || row.visibility === 'followers' || row.visibility === 'direct') return undefined;
      return row.url ?? deps.profilePath(row.actor);
    },

    /** Staff: hides a remote post from every page (or shows it again). */
    async hidePost(uri: string, hidden: boolean): Promise<boolean> {
      const result = await db.updateTable('ap_posts').set({ hidden_at: hidden ? clock.now() : null }).where('uri', '=', uri).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Blocks a remote actor (URL or `@user@host`) or a whole instance (a domain), for the
     * co-op (`actor` null, staff) or one member. Their follows end and their posts are hidden.
     */
    async block(target: string, by: string, actor: string | null = null): Promise<Result<{ kind: 'actor' | 'domain'; target: string }, { type: 'invalid'; message: string }>> {
      const t = target.trim();
      let kind: 'actor' | 'domain';
      let value: string;
      if (/^https?:\/\//i.test(t)) {
        try {
          value = new URL(t).href;
        } catch {
          return err({ type: 'invalid', message: 'That is not a valid URL.' });
        }
        kind = 'actor';
      } else if (/^@?[^@\s/]+@[^@\s/]+$/.test(t)) {
        const found = await resolveActor(t);
        if (!found?.id) return err({ type: 'invalid', message: `No account found at ${t.slice(0, 200)}.` });
        value = found.id.href;
        kind = 'actor';
      } else if (/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(t) || /^localhost$|^\d{1,3}(\.\d{1,3}){3}$/.test(t)) {
        value = t.toLowerCase();
        kind = 'domain';
      } else return err({ type: 'invalid', message: 'Give an account (@user@host or its URL) or a domain (example.social).' });
      const ownHost = new URL(origin).hostname;
      if ((kind === 'domain' && (value === ownHost || ownHost.endsWith(`.${value}`))) || (kind === 'actor' && new URL(value).hostname === ownHost)) {
        return err({ type: 'invalid', message: 'That is this site; block another server or one of its accounts.' });
      }
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('ap_blocks').values({ actor, kind, target: value, created_by: by }).onConflict((oc) => oc.doNothing()).execute();
        const matches = (column: 'follower_uri' | 'target_uri' | 'actor_uri') => (eb: import('kysely').ExpressionBuilder<Database, 'ap_followers' | 'ap_following' | 'ap_posts'>) =>
          kind === 'actor' ? eb(sql.ref(column), '=', value) : eb.or([eb(sql.ref(column), 'like', `%://${value}/%`), eb(sql.ref(column), 'like', `%://${value}:%`), eb(sql.ref(column), 'like', `%.${value}/%`)]);
        await trx.deleteFrom('ap_followers').where(matches('follower_uri') as never).$if(actor !== null, (q) => q.where('actor', '=', actor!)).execute();
        await trx.deleteFrom('ap_following').where(matches('target_uri') as never).$if(actor !== null, (q) => q.where('actor', '=', actor!)).execute();
        if (actor === null) await trx.updateTable('ap_posts').set({ hidden_at: clock.now() }).where(matches('actor_uri') as never).where('hidden_at', 'is', null).execute();
      });
      return ok({ kind, target: value });
    },

    /** Lifts a block (posts hidden by it stay hidden until staff show them again). */
    async unblock(target: string, actor: string | null = null): Promise<boolean> {
      const t = target.trim();
      const candidates = [t, t.toLowerCase(), ...(URL.canParse(t) ? [new URL(t).href] : [])];
      // An account blocked by its handle is stored by its id.
      if (/^@?[^@\s/]+@[^@\s/]+$/.test(t)) {
        const known = await db.selectFrom('ap_remote_actors').select('uri').where('handle', '=', t.replace(/^@/, '')).execute();
        candidates.push(...known.map((k) => k.uri));
      }
      let query = db.deleteFrom('ap_blocks').where('target', 'in', candidates);
      query = actor === null ? query.where('actor', 'is', null) : query.where('actor', '=', actor);
      return Number((await query.executeTakeFirst()).numDeletedRows) > 0;
    },

    async blocks(): Promise<{ actor: string | null; kind: 'actor' | 'domain'; target: string; createdBy: string; createdAt: Date }[]> {
      return (await db.selectFrom('ap_blocks').select(['actor', 'kind', 'target', 'created_by', 'created_at']).orderBy('created_at', 'desc').execute()).map((b) => ({ actor: b.actor, kind: b.kind, target: b.target, createdBy: b.created_by, createdAt: b.created_at }));
    },

    /** Activities received, newest first (`rose social inbox`). */
    async inbox(opts: { limit?: number; acceptedOnly?: boolean } = {}) {
      return db
        .selectFrom('ap_inbox')
        .select(['id', 'activity_id', 'type', 'actor_uri', 'object_uri', 'recipient', 'outcome', 'received_at'])
        .$if(Boolean(opts.acceptedOnly), (q) => q.where('outcome', 'like', 'accepted%'))
        .orderBy('received_at', 'desc')
        .orderBy('id', 'desc')
        .limit(Math.min(opts.limit ?? 50, 1000))
        .execute();
    },

    /** Staff: a public Note from a part's actor (`rose social post --as blog`). */
    async postAsPart(part: PartActor, text: string): Promise<Result<{ id: string; uri: string }, ComposeProblem>> {
      return social.compose(part, { text, visibility: 'public' });
    },

    /** New key pairs for every actor (the old ones are retired). */
    rotateKeys: async (actors?: string[]) => {
      const rotated = await rotateKeys(db, clock, actors);
      woke();
      return rotated;
    },

  };
  return social;
}

export type Social = ReturnType<typeof createSocial>;

type PostRow = Selectable<ApPostsTable>;
const noLikes = { likes: 0, likedByMe: false };

/** Another server's post as the hub shows it. */
function remoteItem(p: PostRow, author: Author, counts = noLikes): TimelineItem {
  return {
    uri: p.uri,
    url: p.url,
    author,
    type: p.type,
    name: p.name,
    summary: p.summary,
    contentHtml: p.content_html,
    sensitive: p.sensitive,
    visibility: p.visibility,
    inReplyTo: p.in_reply_to,
    attachments: p.attachments as TimelineItem['attachments'],
    publishedAt: p.published_at,
    ...counts,
  };
}

/** One of our objects as the hub shows it. */
function localItem(ctx: Context<FederationData>, o: StoredObject, author: Author, counts = noLikes): TimelineItem {
  const uri = objectUri(ctx, o).href;
  return {
    uri,
    url: o.url ?? uri,
    author,
    type: o.type,
    name: o.name,
    summary: o.summary,
    contentHtml: o.contentHtml,
    sensitive: Boolean(o.summary) && o.type === 'Note',
    visibility: o.visibility,
    inReplyTo: o.inReplyTo,
    attachments: [],
    publishedAt: o.publishedAt,
    ...counts,
  };
}
