import type { APIRoute } from 'astro';
import { siteUrl } from '../lib/blog-data.ts';

// Dynamic pages (account, cart, auth) are per-visitor and never worth crawling.
export const GET: APIRoute = async () =>
  new Response(
    ['User-agent: *', 'Disallow: /account/', 'Disallow: /cart/', 'Disallow: /auth/', 'Disallow: /api/', '', `Sitemap: ${new URL('/sitemap.xml', await siteUrl()).toString()}`, ''].join('\n'),
    { headers: { 'Content-Type': 'text/plain; charset=utf-8' } },
  );
