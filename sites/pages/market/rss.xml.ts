import type { APIRoute } from 'astro';
import { renderMarketRss } from '@rose/app';
import { siteUrl } from '../../lib/blog-data.ts';
import { marketSnapshot } from '../../lib/market-data.ts';

export const GET: APIRoute = async () =>
  new Response(renderMarketRss(await marketSnapshot(), await siteUrl()), { headers: { 'Content-Type': 'application/rss+xml; charset=utf-8' } });
