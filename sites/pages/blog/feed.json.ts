import type { APIRoute } from 'astro';
import { renderJsonFeed } from '@rose/app';
import { blogSnapshot, siteUrl } from '../../lib/blog-data.ts';

export const GET: APIRoute = async () =>
  new Response(renderJsonFeed(await blogSnapshot(), await siteUrl()), { headers: { 'Content-Type': 'application/feed+json; charset=utf-8' } });
