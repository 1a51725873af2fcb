import type { APIRoute } from 'astro';
import { blogSitemapEntries, renderSitemap } from '@rose/blog';
import { blogSnapshot, postsPerPage, siteUrl } from '../lib/blog-data.ts';

export const GET: APIRoute = async () => {
  const snapshot = await blogSnapshot();
  const entries = [{ path: '/' }, ...blogSitemapEntries(snapshot, await postsPerPage())];
  return new Response(renderSitemap(entries, await siteUrl()), { headers: { 'Content-Type': 'application/xml; charset=utf-8' } });
};
