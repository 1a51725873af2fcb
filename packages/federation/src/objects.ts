import type { Context } from '@fedify/fedify';
import { Article, Create, Delete, Event, Hashtag, Image, Mention, Note, Place, PUBLIC_COLLECTION, Tombstone, Update, type Object as ApObject } from '@fedify/vocab';
import { Temporal } from '@js-temporal/polyfill';
import type { ApObjectsTable, ApTag, ApVisibility } from '@rose/db';
import { createHash, randomUUID } from 'node:crypto';

/** One of our objects as stored (see the `ap_objects` table). */
export interface StoredObject {
  id: string;
  actor: string;
  type: string;
  name: string | null;
  summary: string | null;
  contentHtml: string;
  url: string | null;
  inReplyTo: string | null;
  visibility: ApVisibility;
  tags: ApTag[];
  extra: Record<string, unknown>;
  publishedAt: Date;
  updatedAt: Date | null;
  deletedAt: Date | null;
}

export function toStoredObject(row: Pick<ApObjectsTable, 'id' | 'actor' | 'type' | 'name' | 'summary' | 'content_html' | 'url' | 'in_reply_to' | 'visibility'> & { tags: ApTag[]; extra: Record<string, unknown>; published_at: Date; updated_at: Date | null; deleted_at: Date | null }): StoredObject {
  return {
    id: row.id,
    actor: row.actor,
    type: row.type,
    name: row.name,
    summary: row.summary,
    contentHtml: row.content_html,
    url: row.url,
    inReplyTo: row.in_reply_to,
    visibility: row.visibility,
    tags: row.tags,
    extra: row.extra,
    publishedAt: row.published_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

export const storedObjectColumns = ['id', 'actor', 'type', 'name', 'summary', 'content_html', 'url', 'in_reply_to', 'visibility', 'tags', 'extra', 'published_at', 'updated_at', 'deleted_at'] as const;

/** What an Update compares: the fields other servers show. */
export function objectDigest(o: Pick<StoredObject, 'type' | 'name' | 'summary' | 'contentHtml' | 'url' | 'inReplyTo' | 'visibility' | 'tags' | 'extra'>): string {
  return createHash('sha256').update(JSON.stringify([o.type, o.name, o.summary, o.contentHtml, o.url, o.inReplyTo, o.visibility, o.tags, o.extra])).digest('base64url');
}

const instant = (d: Date) => Temporal.Instant.fromEpochMilliseconds(d.getTime());

/** Whom an object of this visibility is addressed to (Mastodon's conventions). */
export function audience(ctx: Context<unknown>, actor: string, visibility: ApVisibility, mentions: URL[]): { tos: URL[]; ccs: URL[] } {
  const followers = ctx.getFollowersUri(actor);
  switch (visibility) {
    case 'public':
      return { tos: [PUBLIC_COLLECTION], ccs: [followers, ...mentions] };
    case 'unlisted':
      return { tos: [followers], ccs: [PUBLIC_COLLECTION, ...mentions] };
    case 'followers':
      return { tos: [followers], ccs: mentions };
    default:
      return { tos: mentions, ccs: [] };
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` can be one of our objects' ids (checked before it reaches a uuid column). */
export function isObjectId(id: string | undefined): id is string {
  return id !== undefined && uuid.test(id);
}

/** The id of our object an URI names (a well-formed one; it may not exist), or undefined. */
export function ourObjectId(ctx: Context<unknown>, uri: URL | string | null | undefined): string | undefined {
  if (!uri) return undefined;
  const url = typeof uri === 'string' ? (URL.canParse(uri) ? new URL(uri) : undefined) : uri;
  const parsed = url ? ctx.parseUri(url) : null;
  const id = parsed?.type === 'object' ? parsed.values.id : undefined;
  return isObjectId(id) ? id : undefined;
}

/** The URI of one of our objects. */
export function objectUri(ctx: Context<unknown>, o: Pick<StoredObject, 'id' | 'type'>): URL {
  if (o.type === 'Article') return ctx.getObjectUri(Article, { id: o.id });
  if (o.type === 'Event') return ctx.getObjectUri(Event, { id: o.id });
  return ctx.getObjectUri(Note, { id: o.id });
}

/** Our stored object as ActivityStreams (a Tombstone once deleted). */
export function toActivityObject(ctx: Context<unknown>, o: StoredObject): ApObject {
  const id = objectUri(ctx, o);
  if (o.deletedAt) return new Tombstone({ id, deleted: instant(o.deletedAt) });
  const mentions = o.tags.filter((t) => t.type === 'Mention').map((t) => new URL(t.href));
  const values = {
    id,
    attribution: ctx.getActorUri(o.actor),
    ...audience(ctx, o.actor, o.visibility, mentions),
    content: o.contentHtml,
    ...(o.name ? { name: o.name } : {}),
    ...(o.summary ? { summary: o.summary } : {}),
    ...(o.url ? { url: new URL(o.url) } : {}),
    ...(o.inReplyTo ? { replyTarget: new URL(o.inReplyTo) } : {}),
    sensitive: Boolean(o.summary) && o.type === 'Note',
    published: instant(o.publishedAt),
    ...(o.updatedAt ? { updated: instant(o.updatedAt) } : {}),
    tags: o.tags.map((t) => (t.type === 'Mention' ? new Mention({ href: new URL(t.href), name: t.name }) : new Hashtag({ href: new URL(t.href), name: t.name }))),
    ...(typeof o.extra.image === 'string' && URL.canParse(o.extra.image) ? { image: new Image({ url: new URL(o.extra.image) }) } : {}),
  };
  if (o.type === 'Article') return new Article(values);
  if (o.type === 'Event') {
    const { startTime, endTime, location } = o.extra as { startTime?: string; endTime?: string; location?: string };
    return new Event({
      ...values,
      ...(startTime ? { startTime: Temporal.Instant.from(startTime) } : {}),
      ...(endTime ? { endTime: Temporal.Instant.from(endTime) } : {}),
      ...(location ? { location: new Place({ name: location }) } : {}),
    });
  }
  return new Note(values);
}

export type ObjectActivity = 'Create' | 'Update' | 'Delete';

/**
 * The activity announcing a change to one of our objects. An object is created once, so its
 * Create has one id (the outbox lists the same); Updates and Deletes get a fresh id each
 * (`activityId`): an object may change many times.
 */
export function objectActivity(ctx: Context<unknown>, kind: ObjectActivity, o: StoredObject, activityId?: string): Create | Update | Delete {
  const object = toActivityObject(ctx, o);
  const actor = ctx.getActorUri(o.actor);
  const id = new URL(kind === 'Create' ? '#create' : `#${kind.toLowerCase()}-${activityId ?? randomUUID()}`, objectUri(ctx, o));
  const mentions = o.tags.filter((t) => t.type === 'Mention').map((t) => new URL(t.href));
  const { tos, ccs } = audience(ctx, o.actor, o.visibility, mentions);
  if (kind === 'Create') return new Create({ id, actor, object, tos, ccs, published: instant(o.publishedAt) });
  if (kind === 'Update') return new Update({ id, actor, object, tos, ccs, updated: instant(o.updatedAt ?? o.publishedAt) });
  return new Delete({ id, actor, object: new Tombstone({ id: objectUri(ctx, o) }), tos, ccs });
}
