import type { APIRoute } from 'astro';
import { getServices } from '@rose/app';

export const prerender = false;

/** Liveness of the database and cache: 200 when both answer, 503 when either is down. */
export const GET: APIRoute = async () => {
  const services = await getServices();
  const report = await services.health();
  return new Response(JSON.stringify(report), {
    status: report.status === 'ok' ? 200 : 503,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
};
