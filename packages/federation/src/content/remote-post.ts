import { err, ok, type Result } from '@rose/core';
import { z } from 'zod';
import { htmlToPlainText, sanitiseRemoteHtml } from './sanitise.ts';

/**
 * Object types we store as posts. Mastodon handles Note and Question and shows Article, Page,
 * Event, Video, Audio and Image as a link; we keep them all.
 */
export const remotePostTypes = ['Note', 'Article', 'Page', 'Question', 'Event', 'Video', 'Audio', 'Image'] as const;
export type RemotePostType = (typeof remotePostTypes)[number];

/** Long-form types, whose `summary` is an excerpt rather than a content warning. */
const longFormTypes: ReadonlySet<string> = new Set(['Article', 'Page', 'Event']);

export type Visibility = 'public' | 'unlisted' | 'followers' | 'direct';

export interface RemoteAttachment {
  url: string;
  mediaType?: string;
  /** Alt text. */
  name?: string;
  width?: number;
  height?: number;
  blurhash?: string;
  /** Mastodon's focal point, each coordinate in [-1, 1], x to the right and y upwards. */
  focalPoint?: [number, number];
}

export interface RemotePoll {
  options: { name: string; votes?: number }[];
  /** `anyOf` (several answers allowed) rather than `oneOf`. */
  multiple: boolean;
  endTime?: Date;
  closed?: Date;
  votersCount?: number;
}

/** A post from another server, as we store it. Every URL in it is an absolute http(s) URL. */
export interface RemotePost {
  /** The object's `id`. */
  uri: string;
  /** Its HTML page, when it names one. */
  url?: string;
  type: RemotePostType;
  /** The author (`attributedTo`; its first Person when there are several). */
  actorUri: string;
  /** Sanitised with `sanitiseRemoteHtml`; '' when the post has no content. */
  contentHtml: string;
  /** Plain-text title (Articles, Events, Pages). */
  name?: string;
  /** Plain-text content warning, for short-form types (Note, Question, Video, Audio, Image). */
  summary?: string;
  /** Plain-text excerpt of a long-form post (Article, Page, Event): its `summary`, which is not a warning there. */
  excerpt?: string;
  sensitive: boolean;
  /** BCP 47 tag, from `contentMap` (or Mobilizon's `inLanguage`). */
  language?: string;
  published?: Date;
  updated?: Date;
  inReplyTo?: string;
  /** The quoted post: FEP-044f `quote`, Fedibird `quoteUri`, Misskey `quoteUrl` / `_misskey_quote`. */
  quoteUri?: string;
  visibility: Visibility;
  attachments: RemoteAttachment[];
  /** Cover image (Ghost's feature image). */
  image?: string;
  emojis: { shortcode: string; url: string }[];
  /** `href`s of Mention tags: the mentioned actors' ids. */
  mentions: string[];
  /** Hashtag names, lowercase, without `#`. */
  hashtags: string[];
  startTime?: Date;
  endTime?: Date;
  /** Plain-text place: name and postal address. */
  location?: string;
  /** Question's choices. */
  poll?: RemotePoll;
}

export interface ParseRemotePostOptions {
  /**
   * The author's followers collection from their actor document, when known. `<actor>/followers`
   * is always recognised; servers that name it differently (Friendica's `/followers/<name>`) are
   * only recognised through this, so an unknown collection reads as `direct`, never wider.
   */
  followersOf?(actorUri: string): string | undefined;
  /** Languages to prefer when the content only comes as `contentMap`, most preferred first. */
  preferredLanguages?: readonly string[];
}

export type ParseRemotePostError = { type: 'invalid'; message: string };

/** Most attachments, options, emojis, mentions and hashtags kept from one post. */
export const maxRemoteListLength = 20;
const maxNameLength = 1000;
const maxSummaryLength = 5000;
/** Mastodon's limit for a media description. */
const maxAltTextLength = 1500;

const publicAddresses = new Set(['https://www.w3.org/ns/activitystreams#Public', 'as:Public', 'Public']);

/**
 * Whether two URLs share an origin (scheme, host and port), e.g. an object's `id` and its
 * author, for the check that a server only speaks for its own objects. False when either is
 * not an absolute http(s) URL.
 *
 * @example
 * sameOrigin('https://a.example/notes/1', 'https://A.example:443/users/x') // true
 */
export function sameOrigin(a: string, b: string): boolean {
  const first = httpUrl(a);
  const second = httpUrl(b);
  return first !== undefined && second !== undefined && first.origin === second.origin;
}

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

const httpUrlString = z.string().refine((value) => httpUrl(value) !== undefined);
const dateString = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const text = z.string();
const dimension = z.number().int().positive();
const count = z.number().int().nonnegative();
const coordinate = z.number().min(-1).max(1);
const focalPoint = z.tuple([coordinate, coordinate]);
const mediaType = z.string().regex(/^[\w.+-]+\/[\w.+-]+/);
const blurhash = z.string().regex(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,100}$/);
const languageTag = z.string().regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$/).refine((tag) => tag.toLowerCase() !== 'und');
const record = z.record(z.string(), z.unknown());
const stringMap = z.record(z.string(), z.unknown()).transform((map) =>
  Object.entries(map).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
);

type Json = Record<string, unknown>;

/** The value if it fits the schema, otherwise undefined: a wrong type drops the field, not the post. */
function pick<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

/** JSON-LD lets any property be one value or an array; null and missing are none. */
function many(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

function asObject(value: unknown): Json | undefined {
  return pick(record, value);
}

/** `as:Note`, `https://www.w3.org/ns/activitystreams#Note` and `Note` are the same type. */
function typeNames(value: unknown): string[] {
  return many(value)
    .filter((name): name is string => typeof name === 'string')
    .map((name) => name.replace(/^(as:|https:\/\/www\.w3\.org\/ns\/activitystreams#)/, '').replace(/^toot:/, ''));
}

function hasType(value: Json, name: string): boolean {
  return typeNames(value.type).includes(name);
}

/** The id a reference points at: a string, or an object's `id` (or a Link's `href`). */
function referenceId(value: unknown): string | undefined {
  if (typeof value === 'string') return pick(httpUrlString, value);
  const object = asObject(value);
  if (object === undefined) return undefined;
  return pick(httpUrlString, object.id) ?? (hasType(object, 'Link') ? pick(httpUrlString, object.href) : undefined);
}

function firstReference(value: unknown): string | undefined {
  for (const item of many(value)) {
    const id = referenceId(item);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** A `url` value (string, Link or array of them): the first http(s) one, preferring `preferredType`. */
function linkUrl(value: unknown, preferredType?: string): string | undefined {
  const candidates: { href: string; mediaType?: string }[] = [];
  for (const item of many(value)) {
    if (typeof item === 'string') {
      const href = pick(httpUrlString, item);
      if (href !== undefined) candidates.push({ href });
      continue;
    }
    const link = asObject(item);
    const href = link && pick(httpUrlString, link.href ?? link.url);
    if (link !== undefined && href !== undefined) candidates.push({ href, mediaType: pick(text, link.mediaType) });
  }
  const preferred = preferredType === undefined ? undefined : candidates.find((candidate) => candidate.mediaType === preferredType);
  return (preferred ?? candidates[0])?.href;
}

const actorTypes = new Set(['Person', 'Service', 'Application', 'Group', 'Organization']);

/** `attributedTo` as a string, an object or an array (PeerTube names a Person and a Group). */
function authorOf(value: unknown): string | undefined {
  const items = many(value);
  for (const item of items) {
    const object = asObject(item);
    if (object !== undefined && hasType(object, 'Person')) {
      const id = referenceId(object);
      if (id !== undefined) return id;
    }
  }
  for (const item of items) {
    const object = asObject(item);
    const untypedOrActor = object === undefined || typeNames(object.type).length === 0 || typeNames(object.type).some((name) => actorTypes.has(name));
    const id = untypedOrActor ? referenceId(item) : undefined;
    if (id !== undefined) return id;
  }
  return undefined;
}

function audience(value: unknown): string[] {
  return many(value).flatMap((item) => {
    if (typeof item === 'string') return [item];
    const id = asObject(item)?.id;
    return typeof id === 'string' ? [id] : [];
  });
}

function visibilityOf(object: Json, actorUri: string, opts: ParseRemotePostOptions): Visibility {
  const to = audience(object.to);
  const cc = audience(object.cc);
  if (to.some((address) => publicAddresses.has(address))) return 'public';
  if (cc.some((address) => publicAddresses.has(address))) return 'unlisted';
  const followers = new Set([`${actorUri}/followers`]);
  const known = opts.followersOf?.(actorUri);
  if (known !== undefined) followers.add(known);
  if ([...to, ...cc].some((address) => followers.has(address))) return 'followers';
  return 'direct';
}

function languageMatches(tag: string, wanted: string): boolean {
  const lower = tag.toLowerCase();
  const want = wanted.toLowerCase();
  return lower === want || lower.startsWith(`${want}-`) || want.startsWith(`${lower}-`);
}

/** HTML content and its language: `content`, else the best `contentMap` entry. */
function contentOf(object: Json, opts: ParseRemotePostOptions): { html?: string; language?: string } {
  const content = pick(text, object.content);
  const map = pick(stringMap, object.contentMap) ?? [];
  if (content !== undefined) {
    const language = map.find(([, value]) => value === content)?.[0] ?? (map.length === 1 ? map[0]?.[0] : undefined);
    return { html: content, language };
  }
  for (const wanted of opts.preferredLanguages ?? []) {
    const entry = map.find(([tag]) => languageMatches(tag, wanted));
    if (entry !== undefined) return { html: entry[1], language: entry[0] };
  }
  const first = map[0];
  return first === undefined ? {} : { html: first[1], language: first[0] };
}

/** A plain-text field given as `name` or `nameMap` (or `summary` / `summaryMap`). */
function plainField(object: Json, key: 'name' | 'summary', maxLength: number): string | undefined {
  const value = pick(text, object[key]) ?? pick(stringMap, object[`${key}Map`])?.[0]?.[1];
  if (value === undefined) return undefined;
  const plain = htmlToPlainText(value, { maxLength });
  // Misskey sends a zero-width space as the summary of a post with an empty content warning.
  return plain.replace(/^[\s\u200b]+|[\s\u200b]+$/g, '') === '' ? undefined : plain;
}

function attachmentOf(value: unknown): RemoteAttachment | undefined {
  const object = asObject(value);
  if (object === undefined) return undefined;
  const types = typeNames(object.type);
  if (types.some((name) => ['PropertyValue', 'Hashtag', 'Mention', 'Emoji'].includes(name))) return undefined;
  const ownType = pick(mediaType, object.mediaType);
  // A Link to a web page (Mobilizon's online meeting address) is not media.
  if (types.includes('Link') && (ownType === undefined || ownType.startsWith('text/html'))) return undefined;
  const url = types.includes('Link') ? linkUrl(object.href) : linkUrl(object.url, ownType);
  if (url === undefined) return undefined;
  const linkType = many(object.url).map(asObject).find((link) => link !== undefined && linkUrl(link) === url)?.mediaType;
  const alt = pick(text, object.name) ?? pick(text, object.summary);
  const attachment: RemoteAttachment = { url };
  const type = ownType ?? pick(mediaType, linkType);
  if (type !== undefined) attachment.mediaType = type;
  if (alt !== undefined && alt.trim() !== '') attachment.name = htmlToPlainText(alt, { maxLength: maxAltTextLength });
  const width = pick(dimension, object.width);
  const height = pick(dimension, object.height);
  const hash = pick(blurhash, object.blurhash);
  const focus = pick(focalPoint, object.focalPoint);
  if (width !== undefined) attachment.width = width;
  if (height !== undefined) attachment.height = height;
  if (hash !== undefined) attachment.blurhash = hash;
  if (focus !== undefined) attachment.focalPoint = focus;
  return attachment;
}

interface Tags {
  emojis: { shortcode: string; url: string }[];
  mentions: string[];
  hashtags: string[];
}

function tagsOf(value: unknown): Tags {
  const emojis = new Map<string, string>();
  const mentions = new Set<string>();
  const hashtags = new Set<string>();
  for (const item of many(value)) {
    const tag = asObject(item);
    if (tag === undefined) continue;
    if (hasType(tag, 'Emoji')) {
      const shortcode = /^:?([\w+-]+):?$/.exec(pick(text, tag.name) ?? '')?.[1];
      const icon = many(tag.icon).map(asObject)[0];
      const url = icon === undefined ? undefined : linkUrl(icon.url);
      if (shortcode !== undefined && url !== undefined && !emojis.has(shortcode) && emojis.size < maxRemoteListLength) emojis.set(shortcode, url);
    } else if (hasType(tag, 'Mention')) {
      const href = pick(httpUrlString, tag.href);
      if (href !== undefined && mentions.size < maxRemoteListLength) mentions.add(href);
    } else if (hasType(tag, 'Hashtag')) {
      // Mobilizon's tag titles may contain spaces ("#Logiciel libre"); people type them joined.
      const name = (pick(text, tag.name) ?? '').normalize('NFKC').replace(/^#/, '').replace(/\s+/g, '').toLowerCase();
      if (/^[\p{L}\p{M}\p{N}_]{1,100}$/u.test(name) && hashtags.size < maxRemoteListLength) hashtags.add(name);
    }
  }
  return {
    emojis: [...emojis].map(([shortcode, url]) => ({ shortcode, url })),
    mentions: [...mentions],
    hashtags: [...hashtags],
  };
}

/** A Place (or a plain string) as one line: "name, street, postcode locality, region, country". */
function locationOf(value: unknown): string | undefined {
  for (const item of many(value)) {
    if (typeof item === 'string' && item.trim() !== '') return htmlToPlainText(item, { maxLength: maxNameLength });
    const place = asObject(item);
    if (place === undefined) continue;
    const address = asObject(place.address);
    const parts = [pick(text, place.name)];
    if (address !== undefined) {
      const locality = [pick(text, address.postalCode), pick(text, address.addressLocality)].filter(Boolean).join(' ');
      parts.push(pick(text, address.streetAddress), locality, pick(text, address.addressRegion), pick(text, address.addressCountry));
    } else {
      parts.push(pick(text, place.address));
    }
    const unique = [...new Set(parts.map((part) => part?.trim()).filter((part): part is string => !!part))];
    if (unique.length > 0) return htmlToPlainText(unique.join(', '), { maxLength: maxNameLength });
  }
  return undefined;
}

function pollOf(object: Json): RemotePoll | undefined {
  const multiple = object.anyOf !== undefined && object.anyOf !== null;
  const choices = many(multiple ? object.anyOf : object.oneOf);
  const options = choices.flatMap((choice) => {
    const option = asObject(choice);
    const name = option && pick(text, option.name);
    if (option === undefined || name === undefined) return [];
    const votes = pick(count, asObject(option.replies)?.totalItems);
    return [votes === undefined ? { name: htmlToPlainText(name, { maxLength: maxNameLength }) } : { name: htmlToPlainText(name, { maxLength: maxNameLength }), votes }];
  });
  if (options.length === 0) return undefined;
  const poll: RemotePoll = { options: options.slice(0, maxRemoteListLength), multiple };
  const endTime = pick(dateString, object.endTime);
  const closed = pick(dateString, object.closed);
  const voters = pick(count, object.votersCount);
  if (endTime !== undefined) poll.endTime = endTime;
  if (closed !== undefined) poll.closed = closed;
  if (voters !== undefined) poll.votersCount = voters;
  return poll;
}

const shorten = (value: unknown): string => {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 80)}…` : json;
};

/**
 * Reads a post (the `object` of a Create or Update) from its compacted JSON-LD, as Mastodon,
 * GoToSocial, Misskey, Pleroma/Akkoma, Mobilizon, Ghost and friends send it. Lenient: unknown
 * fields are ignored and a known field of the wrong type is dropped, but a missing or non-http(s)
 * `id` or `attributedTo`, or a type that is not a post, makes the whole object invalid.
 * Content is sanitised, summaries and names reduced to plain text, and every URL kept is an
 * absolute http(s) URL (attachments, emojis and links with other schemes are dropped).
 * It does not check that the sender may speak for the object; see `sameOrigin`.
 *
 * @example
 * const result = parseRemotePost(create.object, { followersOf: (actor) => knownActors.get(actor)?.followers });
 * if (result.ok) await savePost(result.value);
 */
export function parseRemotePost(json: unknown, opts: ParseRemotePostOptions = {}): Result<RemotePost, ParseRemotePostError> {
  const object = asObject(json);
  if (object === undefined || Array.isArray(json)) return err({ type: 'invalid', message: `Expected a JSON object for the post, got ${shorten(json)}.` });
  const uri = pick(httpUrlString, object.id);
  if (uri === undefined) return err({ type: 'invalid', message: `The post has no valid id (an absolute http(s) URL): got ${shorten(object.id)}.` });
  const type = typeNames(object.type).find((name): name is RemotePostType => (remotePostTypes as readonly string[]).includes(name));
  if (type === undefined) {
    return err({ type: 'invalid', message: `${uri} is of type ${shorten(object.type)}, not a post (${remotePostTypes.join(', ')}).` });
  }
  const actorUri = authorOf(object.attributedTo);
  if (actorUri === undefined) {
    return err({ type: 'invalid', message: `${uri} has no valid attributedTo (an actor's http(s) id): got ${shorten(object.attributedTo)}.` });
  }

  const content = contentOf(object, opts);
  const summary = plainField(object, 'summary', maxSummaryLength);
  const tags = tagsOf(object.tag);
  const attachments = many(object.attachment)
    .map(attachmentOf)
    .filter((attachment): attachment is RemoteAttachment => attachment !== undefined)
    .slice(0, maxRemoteListLength);
  const post: RemotePost = {
    uri,
    type,
    actorUri,
    contentHtml: content.html === undefined ? '' : sanitiseRemoteHtml(content.html),
    sensitive: pick(z.boolean(), object.sensitive) ?? false,
    visibility: visibilityOf(object, actorUri, opts),
    attachments,
    ...tags,
  };
  const optional: Partial<RemotePost> = {
    url: linkUrl(object.url, 'text/html'),
    name: plainField(object, 'name', maxNameLength),
    summary: longFormTypes.has(type) ? undefined : summary,
    excerpt: longFormTypes.has(type) ? summary : undefined,
    language: pick(languageTag, content.language) ?? pick(languageTag, object.inLanguage),
    published: pick(dateString, object.published),
    updated: pick(dateString, object.updated),
    inReplyTo: firstReference(object.inReplyTo),
    quoteUri: firstReference(object.quote) ?? firstReference(object.quoteUri) ?? firstReference(object.quoteUrl) ?? firstReference(object._misskey_quote),
    image: many(object.image).map((image) => linkUrl(image) ?? linkUrl(asObject(image)?.url)).find((url) => url !== undefined),
    startTime: type === 'Question' ? undefined : pick(dateString, object.startTime),
    endTime: type === 'Question' ? undefined : pick(dateString, object.endTime),
    location: locationOf(object.location),
    poll: type === 'Question' ? pollOf(object) : undefined,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(post, { [key]: value });
  }
  return ok(post);
}
