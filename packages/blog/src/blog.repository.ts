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
