// The only way pages reach blog data: through the services' read side. No SQL in sites/.
import { getSiteData } from '@rose/app';
import type { BlogSnapshot, PostView } from '@rose/app';

export async function blogSnapshot(): Promise<BlogSnapshot> {
  return (await getSiteData()).blog;
}

export async function postsPerPage(): Promise<number> {
  return (await getSiteData()).config.postsPerPage;
}

export async function siteUrl(): Promise<string> {
  return (await getSiteData()).config.siteUrl;
}

/** Bytes of one of the snapshot's media files (`BlogSnapshot.mediaFiles`). */
export async function mediaFile(name: string): Promise<Uint8Array> {
  return (await getSiteData()).media.read(name);
}

/** The GET of a published media file route (blog and market images): its bytes as they are. */
export async function mediaFileResponse(props: unknown): Promise<Response> {
  const { file } = props as { file: { name: string; type: string } };
  return new Response(Buffer.from(await mediaFile(file.name)), { headers: { 'Content-Type': file.type } });
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

/**
 * Keeps the static paths a targeted rebuild asked for (all of them in a full build).
 * `pathOf` gives the site path a getStaticPaths entry renders to.
 */
export async function selectPaths<T>(entries: T[], pathOf: (entry: T) => string): Promise<T[]> {
  const only = (await getSiteData()).renderOnly;
  return only ? entries.filter((e) => only.has(pathOf(e))) : entries;
}
