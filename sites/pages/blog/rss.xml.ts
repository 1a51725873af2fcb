import type { APIRoute } from 'astro';
import { renderRss } from '@rose/app';
import { blogSnapshot, siteUrl } from '../../lib/blog-data.ts';

export const GET: APIRoute = async () =>
  new Response(renderRss(await blogSnapshot(), await siteUrl()), { headers: { 'Content-Type': 'application/rss+xml; charset=utf-8' } });
