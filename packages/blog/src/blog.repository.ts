import type { Transaction } from 'kysely';
import type { Database } from '@rose/db';

/**
 * Writes shared by the two ways content arrives (seed from `content/`, import from Ghost).
 * Each reports whether it changed anything, so callers can tell "nothing to do".
 */

/** Replaces the site settings row `key` unless it already holds `value` (jsonb key order ignored). */
export async function upsertSetting(trx: Transaction<Database>, key: string, value: unknown, now: Date): Promise<boolean> {
  const existing = await trx.selectFrom('site_settings').select('value').where('key', '=', key).executeTakeFirst();
  if (existing && stableJson(existing.value) === stableJson(value)) return false;
  const json = JSON.stringify(value);
  await trx
    .insertInto('site_settings')
    .values({ key, value: json, updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: json, updated_at: now }))
    .execute();
  return true;
}

export interface Navigation {
  primary: { label: string; url: string }[];
  secondary: { label: string; url: string }[];
}

/** Replaces both menus unless they are already exactly `nav`. */
export async function replaceNavigation(trx: Transaction<Database>, nav: Navigation): Promise<boolean> {
  const wanted = [
    ...nav.primary.map((n, position) => ({ menu: 'primary' as const, position, label: n.label, url: n.url })),
    ...nav.secondary.map((n, position) => ({ menu: 'secondary' as const, position, label: n.label, url: n.url })),
  ];
  const existing = await trx.selectFrom('blog_navigation').select(['menu', 'position', 'label', 'url']).orderBy('menu').orderBy('position').execute();
  const key = (rows: typeof wanted | typeof existing) => JSON.stringify([...rows].sort((a, b) => a.menu.localeCompare(b.menu) || a.position - b.position));
  if (key(existing) === key(wanted)) return false;
  await trx.deleteFrom('blog_navigation').execute();
  if (wanted.length > 0) await trx.insertInto('blog_navigation').values(wanted).execute();
  return true;
}

/** Do the columns of `current` hold the values in `wanted` (Dates by instant, undefined as null)? */
export function sameFields(current: Record<string, unknown>, wanted: Record<string, unknown>): boolean {
  return Object.entries(wanted).every(([k, v]) => {
    const have = current[k];
    if (v instanceof Date || have instanceof Date) return (have as Date | null)?.getTime?.() === (v as Date | null)?.getTime?.();
    return (have ?? null) === (v ?? null);
  });
}

const CHUNK = 500;

/** Every post's tag and author ids, in order, keyed by post id. */
export async function loadRelations(trx: Transaction<Database>): Promise<Map<string, { tags: string[]; authors: string[] }>> {
  const map = new Map<string, { tags: string[]; authors: string[] }>();
  const get = (id: string) => {
    let entry = map.get(id);
    if (!entry) map.set(id, (entry = { tags: [], authors: [] }));
    return entry;
  };
  const tags = await trx.selectFrom('blog_post_tags').select(['post_id', 'tag_id']).orderBy('post_id').orderBy('sort_order').execute();
  for (const t of tags) get(t.post_id).tags.push(t.tag_id);
  const authors = await trx.selectFrom('blog_post_authors').select(['post_id', 'author_id']).orderBy('post_id').orderBy('sort_order').execute();
  for (const a of authors) get(a.post_id).authors.push(a.author_id);
  return map;
}

/** Inserts tag and author links (in the given order) for posts that have none yet. */
export async function insertRelations(trx: Transaction<Database>, rows: { id: string; tags: string[]; authors: string[] }[]): Promise<void> {
  const tagRows = rows.flatMap((r) => r.tags.map((tag_id, sort_order) => ({ post_id: r.id, tag_id, sort_order })));
  const authorRows = rows.flatMap((r) => r.authors.map((author_id, sort_order) => ({ post_id: r.id, author_id, sort_order })));
  for (let i = 0; i < tagRows.length; i += CHUNK) await trx.insertInto('blog_post_tags').values(tagRows.slice(i, i + CHUNK)).execute();
  for (let i = 0; i < authorRows.length; i += CHUNK) await trx.insertInto('blog_post_authors').values(authorRows.slice(i, i + CHUNK)).execute();
}

/** Replaces a post's tag and author links. */
export async function replaceRelations(trx: Transaction<Database>, postId: string, tags: string[], authors: string[]): Promise<void> {
  await trx.deleteFrom('blog_post_tags').where('post_id', '=', postId).execute();
  await trx.deleteFrom('blog_post_authors').where('post_id', '=', postId).execute();
  await insertRelations(trx, [{ id: postId, tags, authors }]);
}

export const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
