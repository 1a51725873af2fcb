import type { APIRoute } from 'astro';
import { renderAtom } from '@rose/app';
import { blogSnapshot, siteUrl } from '../../lib/blog-data.ts';

export const GET: APIRoute = async () =>
  new Response(renderAtom(await blogSnapshot(), await siteUrl()), { headers: { 'Content-Type': 'application/atom+xml; charset=utf-8' } });
