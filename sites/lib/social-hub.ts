// The social hub's pages (ActivityPub, /social/…): who may see them, reading their forms, and
// the words for what the social service answers. Pages reach the federation only through
// `Astro.locals.services.federation.social`; this file holds what every page would repeat.
import type { AstroGlobal } from 'astro';
import type { Services, SessionUser } from '@rose/app';
import { assertNever, linkPaths } from '@rose/core';
import { safeReturnPath, signInPath } from './session-cookie.ts';

export type Social = Services['federation']['social'];
export type TimelineItem = Awaited<ReturnType<Social['timeline']>>[number];
export type SocialNotification = Awaited<ReturnType<Social['notifications']>>[number];
export type Author = TimelineItem['author'];
export type LocalActor = NonNullable<Awaited<ReturnType<Social['actorOfUser']>>>;
type Problem<T> = T extends { ok: false; error: infer E } ? E : never;
export type ComposeProblem = Problem<Awaited<ReturnType<Social['compose']>>>;
export type FollowProblem = Problem<Awaited<ReturnType<Social['follow']>>>;
export type HandleProblem = Problem<Awaited<ReturnType<Social['enableProfile']>>>;
export type LikeProblem = Problem<Awaited<ReturnType<Social['like']>>>;
export type Visibility = Parameters<Social['compose']>[1]['visibility'];

export interface SocialVisitor {
  user: SessionUser;
  social: Social;
  /** The member's own actor, once they turned their profile on. */
  me: LocalActor | undefined;
  /** The site's host: the second half of every local address (`@ann@coop.example`). */
  host: string;
}

/** Whoever reads a public social page: a signed-in member (`user`), or nobody signed in. */
export type SocialReader = Omit<SocialVisitor, 'user'> & { user: SessionUser | undefined };

/** Who is reading, and the headers every social page has: it carries forms, so it is never framed. */
async function readerOf(Astro: AstroGlobal): Promise<SocialReader> {
  const { services, user } = Astro.locals;
  Astro.response.headers.set('X-Frame-Options', 'DENY');
  Astro.response.headers.set('Content-Security-Policy', "frame-ancestors 'none'");
  const social = services.federation.social;
  return { user, social, me: user ? await social.actorOfUser(user.id) : undefined, host: new URL(services.config.siteUrl).host };
}

/**
 * The start of a page anyone may read (a local profile: where our actor ids send a browser).
 * Signed in, the middleware keeps the answer private; signed out it is the same for everyone
 * and asked again each time, like the public islands (it changes with every post).
 */
export async function socialReader(Astro: AstroGlobal): Promise<SocialReader> {
  const reader = await readerOf(Astro);
  if (!reader.user) Astro.response.headers.set('Cache-Control', 'no-cache');
  return reader;
}

/** Where "Sign in" goes from `here`, coming back to it. */
export function signInLink(Astro: AstroGlobal, here: string): string {
  return signInPath(Astro.locals.origin, Astro.locals.services.config, here);
}

/** The gate of every members' social page: a signed-in member (with their actor, if any), or a redirect to sign in that comes back to `here`. */
export async function socialGate(Astro: AstroGlobal, here: string): Promise<{ redirect: Response } | SocialVisitor> {
  const reader = await readerOf(Astro);
  if (!reader.user) return { redirect: Astro.redirect(signInLink(Astro, here), 303) };
  return { ...reader, user: reader.user };
}

/**
 * A POSTed answer to a follow request (followers and notifications pages both offer it): a
 * redirect back to `here` saying what was done, or the error to show (and its status).
 */
export async function answerFollowRequestForm(Astro: AstroGlobal, visitor: SocialVisitor, here: string): Promise<{ redirect: Response } | { error: string }> {
  const form = await Astro.request.formData();
  const action = field(form, 'action', 20);
  const follower = httpUrl(field(form, 'follower', maxUriLength));
  if ((action !== 'approve' && action !== 'reject') || !follower || !visitor.me) {
    Astro.response.status = 400;
    return { error: 'Unknown action.' };
  }
  if (await visitor.social.answerFollowRequest(visitor.me.handle, follower, action === 'approve')) return { redirect: Astro.redirect(withDone(here, action === 'approve' ? 'approved' : 'rejected'), 303) };
  Astro.response.status = 404;
  return { error: 'That follow request was already answered or withdrawn.' };
}

/** The fragment cache's name for the replies island of blog posts (moderation purges it). */
export const socialRepliesFragment = 'social-replies';

export const isStaff = (user: SessionUser) => user.role === 'staff' || user.role === 'admin';

/** A form field as text, trimmed and cut to `max` characters ('' when absent or a file). */
export function field(form: FormData, name: string, max = 200): string {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

/** Longest URL we accept from a form or a query (actor ids, post ids). */
export const maxUriLength = 2048;

/** `value` when it is an absolute http(s) URL of at most `maxUriLength` characters. */
export function httpUrl(value: string | null | undefined): string | undefined {
  if (!value || value.length > maxUriLength || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
}

/** A `before` cursor from the query (an ISO time), or undefined when absent or not a time. */
export function parseBefore(value: string | null): Date | undefined {
  if (!value || value.length > 40) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** A hashtag as typed in a path: letters, digits and underscores (what compose links). */
export function parseTag(value: string | undefined): string | undefined {
  const tag = (value ?? '').replace(/^#/, '');
  return /^[\p{L}\p{N}_]{1,100}$/u.test(tag) ? tag.toLowerCase() : undefined;
}

export const visibilities: { value: Visibility; label: string }[] = [
  { value: 'public', label: 'Public: anyone, on public timelines' },
  { value: 'unlisted', label: 'Unlisted: anyone with the link, not on public timelines' },
  { value: 'followers', label: 'Followers only' },
  { value: 'direct', label: 'Direct: only the people mentioned' },
];

export function parseVisibility(value: string): Visibility | undefined {
  return visibilities.find((v) => v.value === value)?.value;
}


/** Where an author's profile page is: ours by handle, another server's by actor id. */
export function authorLink(author: Pick<Author, 'uri' | 'handle' | 'local'>): string {
  if (author.local) {
    const handle = /^@([^@]+)@/.exec(author.handle)?.[1];
    if (handle) return linkPaths.social.profile(handle);
  }
  return linkPaths.social.remoteProfile(author.uri);
}

/** The compose form opened as a reply to `uri`. */
export function replyLink(uri: string): string {
  return `${linkPaths.social.home()}?reply=${encodeURIComponent(uri)}#compose`;
}

/** Where a form that acted on a post sends the member back to (a page of this site, else home). */
export function backTo(form: FormData): string {
  return safeReturnPath(field(form, 'back', maxUriLength), linkPaths.social.home());
}

/** Attachments we can show: http(s) only; images inline, the rest as links. */
export function attachmentsOf(item: Pick<TimelineItem, 'attachments'>): { url: string; label: string; image: boolean }[] {
  return item.attachments.flatMap((a) => {
    const url = httpUrl(a.url);
    if (!url) return [];
    const image = typeof a.mediaType === 'string' && a.mediaType.startsWith('image/');
    return [{ url, label: a.name?.slice(0, 300) || (image ? 'An image' : new URL(url).pathname.split('/').pop() || 'Attachment'), image }];
  });
}

/** The first `max` characters of a post's text (for long-form posts and quotes). */
export function excerptOf(html: string, max: number): string {
  const text = html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  const points = [...text];
  return points.length > max ? `${points.slice(0, max - 1).join('').trimEnd()}…` : text;
}

/** A time as the site writes it (its locale and time zone), ISO when those are unknown. */
export function formatMoment(date: Date, locale: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(date);
  } catch {
    return date.toISOString().replace('T', ' ').slice(0, 16);
  }
}

export function describeComposeProblem(problem: ComposeProblem): string {
  switch (problem.type) {
    case 'no-profile':
      return 'Turn on your social profile first (Social settings).';
    case 'empty':
    case 'too-long':
    case 'bad-reply':
      return problem.message;
    default:
      return assertNever(problem);
  }
}

export function describeFollowProblem(problem: FollowProblem): string {
  switch (problem.type) {
    case 'no-profile':
      return 'Turn on your social profile first (Social settings).';
    case 'not-found':
      return `${problem.message} Check the address: @user@example.social, or the URL of their profile.`;
    case 'blocked':
      return 'That account or its server is blocked here.';
    case 'self':
      return 'That is you.';
    default:
      return assertNever(problem);
  }
}

export function describeHandleProblem(problem: HandleProblem): string {
  switch (problem.type) {
    case 'invalid-handle':
      return problem.message;
    case 'handle-taken':
      return 'That handle is taken; please choose another.';
    case 'already-enabled':
      return `Your profile is already on, as @${problem.handle}.`;
    default:
      return assertNever(problem);
  }
}

export function describeLikeProblem(problem: LikeProblem): string {
  switch (problem.type) {
    case 'no-profile':
      return 'Turn on your social profile first (Social settings).';
    case 'not-found':
      return 'That post is not one we know.';
    default:
      return assertNever(problem);
  }
}

/** Fixed notices after a form redirected back (`?done=…`): the query names one, never says it. */
export const doneNotices = {
  posted: 'Posted.',
  liked: 'Liked.',
  unliked: 'Like taken back.',
  followed: 'Follow request sent; it shows as accepted once they answer.',
  following: 'You follow them now.',
  unfollowed: 'You no longer follow them.',
  approved: 'Follower approved.',
  rejected: 'Follow request declined.',
  saved: 'Your profile is saved.',
  enabled: 'Your social profile is on.',
  hidden: 'The reply is hidden everywhere.',
  shown: 'The reply is shown again.',
  blocked: 'Blocked: their follows ended and their posts are hidden.',
  unblocked: 'Unblocked: they may follow and reply again. Replies hidden by the block stay hidden until you show them again.',
} as const;

export function doneNotice(value: string | null): string | undefined {
  return value && Object.hasOwn(doneNotices, value) ? doneNotices[value as keyof typeof doneNotices] : undefined;
}

/** `path` with `?done=<what>` (replacing any earlier one). */
export function withDone(path: string, what: keyof typeof doneNotices): string {
  const url = new URL(path, 'http://x');
  url.searchParams.set('done', what);
  return url.pathname + url.search + url.hash;
}

/** Notification kinds in words ("… followed you"). */
export function describeNotification(kind: SocialNotification['kind']): string {
  switch (kind) {
    case 'follow':
      return 'followed you';
    case 'follow-request':
      return 'asks to follow you';
    case 'mention':
      return 'mentioned you';
    case 'reply':
      return 'replied to your post';
    case 'like':
      return 'liked your post';
    case 'announce':
      return 'boosted your post';
    default:
      return assertNever(kind);
  }
}
