import type { APIRoute } from 'astro';
import { blogSitemapEntries, marketSitemapEntries, renderSitemap } from '@rose/app';
import { siteLinks } from '@rose/core';
import { blogSnapshot, postsPerPage, siteUrl } from '../lib/blog-data.ts';
import { marketSnapshot } from '../lib/market-data.ts';

export const GET: APIRoute = async () => {
  const snapshot = await blogSnapshot();
  const entries = [{ path: siteLinks.home(), lastModified: snapshot.lastModified }, ...blogSitemapEntries(snapshot, await postsPerPage()), ...marketSitemapEntries(await marketSnapshot())];
  return new Response(renderSitemap(entries, await siteUrl()), { headers: { 'Content-Type': 'application/xml; charset=utf-8' } });
};
