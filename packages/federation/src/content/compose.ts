import { err, ok, type Result } from '@rose/core';
import { Marked, type TokenizerAndRendererExtension, type Tokens } from 'marked';
import { htmlToPlainText, safeLinkHref, sanitiseRemoteHtml } from './sanitise.ts';

/** Longest post source accepted by default, in characters (code points). */
export const maxNoteLength = 5000;

export interface MentionHandle {
  user: string;
  /** Undefined for `@user`, which names a local user. */
  host: string | undefined;
}

export interface ResolvedMention {
  /** The actor's id (its ActivityPub URI). */
  id: string;
  /** The profile page linked from the post. */
  url: string;
  /** `@user@host`, the name of the Mention tag. */
  handle: string;
}

export interface ComposeOptions {
  /** Looks a handle up (database, then WebFinger); undefined leaves the text as typed. */
  resolveMention(handle: MentionHandle): Promise<ResolvedMention | undefined>;
  /** Our page for a hashtag, as typed (without `#`); must be an absolute http(s) URL. */
  hashtagUrl(tag: string): string;
  /** Longest source accepted, in characters; default `maxNoteLength`. */
  maxLength?: number;
}

export interface ComposedNote {
  /** Sanitised HTML for the Note's `content`. */
  html: string;
  /** One per mentioned actor, in order of first appearance; `name` is `@user@host`. */
  mentions: { id: string; name: string }[];
  /** One per tag (case-insensitive), in order of first appearance; `name` is `#tag` as first typed. */
  hashtags: { name: string; href: string }[];
}

export type ComposeError = { type: 'empty' | 'too-long'; message: string };

interface MentionToken {
  type: 'mention';
  raw: string;
  user: string;
  host: string | undefined;
  slot: number;
}

interface HashtagToken {
  type: 'hashtag';
  raw: string;
  tag: string;
  slot: number;
}

// Mastodon's USERNAME_RE and the domain part of MENTION_RE; `@user@host` is taken whole.
const mentionPattern = /^@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)(?:@([\p{L}\p{N}_.-]*[\p{L}\p{N}_]))?/iu;
// A hashtag needs at least one letter, so `#1` stays text (Mastodon's HASHTAG_RE, without `·`).
const hashtagPattern = /^#([\p{L}\p{M}\p{N}_]*\p{L}[\p{L}\p{M}\p{N}_]*)/u;
// What may not come right before a mention / hashtag: `a@b` is an email address, `x.com/#a`
// and `(#a)`-less links are URLs or anchors.
const beforeMention = /[\p{L}\p{N}_=/]/u;
const beforeHashtag = /[\p{L}\p{N}_/)]/u;
const candidateStart = /(^|[^\p{L}\p{N}_=/)])[@#]/u;

/** Private-use characters standing in for mentions and hashtags until the HTML is sanitised. */
const slotOpen = '\uE000';
const slotClose = '\uE001';
const slotPattern = /\uE000(\d+)\uE001/g;

function previousChar(tokens: readonly { raw: string }[]): string {
  return tokens.at(-1)?.raw.slice(-1) ?? '';
}

/**
 * An inline extension that takes `pattern` (not right after `notAfter`, nor inside a link) as
 * a token `toToken` makes, rendered as a slot filled in once the HTML is sanitised.
 */
function slotExtension(name: 'mention' | 'hashtag', pattern: RegExp, notAfter: RegExp, toToken: (match: RegExpExecArray) => MentionToken | HashtagToken): TokenizerAndRendererExtension {
  return {
    name,
    level: 'inline',
    start(src) {
      const match = candidateStart.exec(src);
      return match ? match.index + (match[1]?.length ?? 0) : undefined;
    },
    tokenizer(src, tokens) {
      if (this.lexer.state.inLink) return undefined;
      const match = pattern.exec(src);
      if (!match || notAfter.test(previousChar(tokens))) return undefined;
      return toToken(match);
    },
    renderer: (token) => `${slotOpen}${(token as unknown as MentionToken | HashtagToken).slot}${slotClose}`,
  };
}

const mentionExtension = slotExtension('mention', mentionPattern, beforeMention, (match) => ({ type: 'mention', raw: match[0], user: match[1] ?? '', host: match[2], slot: -1 }));
const hashtagExtension = slotExtension('hashtag', hashtagPattern, beforeHashtag, (match) => ({ type: 'hashtag', raw: match[0], tag: match[1] ?? '', slot: -1 }));

const marked = new Marked({ gfm: true, breaks: true, async: false, extensions: [mentionExtension, hashtagExtension] });

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function mentionKey(handle: MentionHandle): string {
  return `${handle.user}@${handle.host ?? ''}`.toLowerCase();
}

/**
 * Turns what a user typed (Markdown) into the HTML of a Note, Mastodon style: `@user@host` and
 * `@user` (a local user) become h-card mention links when `resolveMention` finds them and stay
 * text otherwise; `#tag` becomes a hashtag link; neither is linked inside code or inside an
 * existing link. Raw HTML in the source goes through `sanitiseRemoteHtml` like any remote post.
 * Mentions are resolved concurrently, once per distinct handle; a throwing resolver rejects.
 *
 * Private-use characters U+E000 and U+E001 are removed from the source (they mark mention and
 * hashtag positions while the HTML is sanitised).
 *
 * @example
 * const result = await composeNote('Hi @ana@social.example #rust', {
 *   resolveMention: async () => ({ id: 'https://social.example/users/ana', url: 'https://social.example/@ana', handle: '@ana@social.example' }),
 *   hashtagUrl: (tag) => `https://rose.example/tags/${encodeURIComponent(tag.toLowerCase())}`,
 * });
 */
export async function composeNote(markdown: string, opts: ComposeOptions): Promise<Result<ComposedNote, ComposeError>> {
  const source = markdown.replace(/[\uE000\uE001]/g, '').trim();
  if (source === '') return err({ type: 'empty', message: 'The post is empty: write something before posting.' });
  const maxLength = opts.maxLength ?? maxNoteLength;
  const length = Array.from(source).length;
  if (length > maxLength) {
    return err({
      type: 'too-long',
      message: `The post is ${length} characters long and the limit is ${maxLength}: shorten it by ${length - maxLength} characters, or split it into a thread.`,
    });
  }

  const tokens = marked.lexer(source);
  const slots: (MentionToken | HashtagToken)[] = [];
  marked.walkTokens(tokens, (token) => {
    if (token.type === 'mention' || token.type === 'hashtag') {
      const slotted = token as Tokens.Generic as MentionToken | HashtagToken;
      slotted.slot = slots.length;
      slots.push(slotted);
    }
  });

  const lookups = new Map<string, Promise<ResolvedMention | undefined>>();
  for (const slot of slots) {
    if (slot.type !== 'mention') continue;
    const handle = { user: slot.user, host: slot.host };
    const key = mentionKey(handle);
    if (!lookups.has(key)) lookups.set(key, opts.resolveMention(handle));
  }
  const resolved = new Map<string, ResolvedMention | undefined>();
  await Promise.all([...lookups].map(async ([key, lookup]) => resolved.set(key, await lookup)));

  const mentions = new Map<string, { id: string; name: string }>();
  const hashtags = new Map<string, { name: string; href: string }>();
  const render = (slot: MentionToken | HashtagToken): string => {
    if (slot.type === 'hashtag') {
      const href = safeLinkHref(opts.hashtagUrl(slot.tag));
      if (href === undefined || !/^https?:/.test(href)) {
        throw new Error(`hashtagUrl('${slot.tag}') must return an absolute http(s) URL; fix the hashtagUrl passed to composeNote.`);
      }
      const key = slot.tag.toLowerCase();
      if (!hashtags.has(key)) hashtags.set(key, { name: `#${slot.tag}`, href });
      return `<a class="mention hashtag" rel="tag" href="${escapeHtml(href)}">#<span>${escapeHtml(slot.tag)}</span></a>`;
    }
    const actor = resolved.get(mentionKey(slot));
    const url = actor && safeLinkHref(actor.url);
    if (actor === undefined || url === undefined || !/^https?:/.test(url)) return escapeHtml(slot.raw);
    if (!mentions.has(actor.id)) mentions.set(actor.id, { id: actor.id, name: actor.handle.startsWith('@') ? actor.handle : `@${actor.handle}` });
    return `<span class="h-card"><a class="u-url mention" href="${escapeHtml(url)}">@<span>${escapeHtml(slot.user)}</span></a></span>`;
  };

  // Sanitise what the user wrote first, then put in the links we built ourselves, so our own
  // markup keeps its exact Mastodon shape (no rel/target rewriting) and user HTML gets no say.
  const html = sanitiseRemoteHtml(marked.parser(tokens) as string, { maxLength: Number.POSITIVE_INFINITY })
    // Marked puts newlines between blocks; Mastodon's HTML has none (text never holds a bare `>`).
    .replace(/>\n+</g, '><')
    .replace(/\n+$/, '')
    .replace(slotPattern, (_match, index: string) => {
      const slot = slots[Number(index)];
      return slot === undefined ? '' : render(slot);
    });
  if (htmlToPlainText(html) === '') {
    return err({ type: 'empty', message: 'The post has no text left once formatting is applied (images and HTML tags are not kept): write some text.' });
  }
  return ok({ html, mentions: [...mentions.values()], hashtags: [...hashtags.values()] });
}
