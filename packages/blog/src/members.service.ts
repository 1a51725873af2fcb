import type { Kysely } from 'kysely';
import { err, ok, systemClock, type Clock, type Result } from '@rose/core';
import type { Database, MemberTier, UserRole } from '@rose/db';

/** Who asks to read a gated post: nobody signed in (null), or a signed-in account. */
export type Reader = { userId: string; role: UserRole } | null;

/** What the members-only part of a post looks like to one reader. */
export type MembersContent =
  /** The members-only part (sanitised HTML; '' for a post that is public now). */
  | { access: 'granted'; html: string }
  /** Nobody is signed in. */
  | { access: 'sign-in' }
  /** A paid post and a free member. */
  | { access: 'upgrade' }
  /** Allowed, but the body never reached this site (a Ghost sync without GHOST_ADMIN_KEY). */
  | { access: 'unavailable' };

export const memberTiers: readonly MemberTier[] = ['free', 'paid'];

/**
 * The members-only part of a published post, for `reader`. Posts for `members` are for any
 * signed-in account; `paid` and `tiers` posts for paid members; staff and admins read all.
 * The body is read from the database only once access is granted; it is never part of the
 * static snapshot.
 *
 * @example
 * const r = await readMembersContent(db, 'agm-minutes', { userId, role: 'member' });
 * if (r.ok && r.value.access === 'granted') render(r.value.html);
 */
export async function readMembersContent(db: Kysely<Database>, slug: string, reader: Reader): Promise<Result<MembersContent, { type: 'not-found' }>> {
  const post = await db
    .selectFrom('blog_posts')
    .select(['id', 'visibility'])
    .where('slug', '=', slug)
    .where('status', '=', 'published')
    .where('published_at', 'is not', null)
    .executeTakeFirst();
  if (!post) return err({ type: 'not-found' });
  if (post.visibility === 'public') return ok({ access: 'granted', html: '' });
  if (!reader) return ok({ access: 'sign-in' });
  if (post.visibility !== 'members' && reader.role === 'member' && (await memberTier(db, reader.userId)) !== 'paid') return ok({ access: 'upgrade' });
  const body = await db.selectFrom('blog_posts').select('members_html').where('id', '=', post.id).executeTakeFirst();
  if (body?.members_html === null || body?.members_html === undefined) return ok({ access: 'unavailable' });
  return ok({ access: 'granted', html: body.members_html });
}

/** A member's tier; accounts staff never marked are free. */
export async function memberTier(db: Kysely<Database>, userId: string): Promise<MemberTier> {
  const row = await db.selectFrom('member_tiers').select('tier').where('user_id', '=', userId).executeTakeFirst();
  return row?.tier ?? 'free';
}

/** Ids of the accounts staff marked as paying members. */
export async function listPaidMembers(db: Kysely<Database>): Promise<Set<string>> {
  const rows = await db.selectFrom('member_tiers').select('user_id').where('tier', '=', 'paid').execute();
  return new Set(rows.map((r) => r.user_id));
}

/**
 * Marks the account with this email (any case) as a free or paid member. Reads `users` to find
 * the account; never changes it.
 *
 * @example
 * const r = await setMemberTier(db, 'ann@example.org', 'paid'); // ok({ previous: 'free' })
 */
export async function setMemberTier(
  db: Kysely<Database>,
  email: string,
  tier: MemberTier,
  deps: { clock?: Clock } = {},
): Promise<Result<{ userId: string; previous: MemberTier }, { type: 'not-found' }>> {
  const now = (deps.clock ?? systemClock).now();
  return db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select('id')
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
      .executeTakeFirst();
    if (!user) return err({ type: 'not-found' as const });
    const current = await trx.selectFrom('member_tiers').select('tier').where('user_id', '=', user.id).forUpdate().executeTakeFirst();
    await trx
      .insertInto('member_tiers')
      .values({ user_id: user.id, tier, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ tier, updated_at: now }))
      .execute();
    return ok({ userId: user.id, previous: current?.tier ?? 'free' });
  });
}
