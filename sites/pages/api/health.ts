import type { APIRoute } from 'astro';

export const prerender = false;

/**
 * Liveness: 200 `{"status":"ok"}` whenever this process answers requests, whatever the
 * database and cache say — a server is taken out of Caddy's pool or restarted only when it
 * is itself broken, not when a dependency every server shares is down (that is what
 * `/api/ready` reports, and restarting would not mend it).
 */
export const GET: APIRoute = () =>
  new Response(JSON.stringify({ status: 'ok' }), {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
