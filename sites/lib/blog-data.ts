// The only way pages reach blog data: through the services' read side. No SQL in sites/.
import { getSiteData } from '@rose/app';
import type { BlogSnapshot, PostView } from '@rose/blog';

export async function blogSnapshot(): Promise<BlogSnapshot> {
  return (await getSiteData()).blog;
}

export async function postsPerPage(): Promise<number> {
  return (await getSiteData()).config.postsPerPage;
}

export async function siteUrl(): Promise<string> {
  return (await getSiteData()).config.siteUrl;
}

export interface PageOf<T> {
  items: T[];
  page: number;
  pages: number;
  total: number;
}

/** Splits a list into numbered pages (1-based); always at least one page. */
export function paginate<T>(list: T[], perPage: number): PageOf<T>[] {
  const pages = Math.max(1, Math.ceil(list.length / perPage));
  return Array.from({ length: pages }, (_, i) => ({ items: list.slice(i * perPage, (i + 1) * perPage), page: i + 1, pages, total: list.length }));
}

export type { BlogSnapshot, PostView };
