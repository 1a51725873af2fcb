import type { APIRoute } from 'astro';

export const prerender = false;

/** Liveness of the database and cache: 200 when both answer, 503 when either is down. */
export const GET: APIRoute = async ({ locals }) => {
  const { services } = locals;
  const report = await services.health();
  return new Response(JSON.stringify(report), {
    status: report.status === 'ok' ? 200 : 503,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
};
