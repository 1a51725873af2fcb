import type { APIRoute } from 'astro';
import { buildSearchIndex } from '@rose/app';
import { blogSnapshot } from '../../lib/blog-data.ts';

export const GET: APIRoute = async () =>
  new Response(JSON.stringify(buildSearchIndex(await blogSnapshot())), { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
