import type { APIRoute } from 'astro';
import { buildMarketSearchIndex } from '@rose/app';
import { marketSnapshot } from '../../lib/market-data.ts';

export const GET: APIRoute = async () =>
  new Response(JSON.stringify(buildMarketSearchIndex(await marketSnapshot())), { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
