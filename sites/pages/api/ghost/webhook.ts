import type { APIRoute } from 'astro';
import { enqueueBlogJob, getServices } from '@rose/app';
import { handleGhostWebhook } from '@rose/ghost';

export const prerender = false;

const maxBodyBytes = 10 * 1024 * 1024;
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });

/**
 * Ghost webhooks (post.*, page.*, tag.*, site.changed). Signed with GHOST_WEBHOOK_SECRET;
 * anything unsigned, tampered or older than 5 minutes gets 401 and changes nothing.
 */
export const POST: APIRoute = async ({ request }) => {
  const services = await getServices();
  if (!services.ghost?.webhookSecret) return json(503, { error: 'Ghost webhooks are not configured here (GHOST_URL, GHOST_CONTENT_KEY and GHOST_WEBHOOK_SECRET).' });
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > maxBodyBytes) return json(413, { error: `The body is larger than ${maxBodyBytes} bytes.` });
  const body = await request.text();
  if (body.length > maxBodyBytes) return json(413, { error: `The body is larger than ${maxBodyBytes} bytes.` });
  const result = await handleGhostWebhook(
    {
      db: services.database.db,
      client: services.ghost.content,
      admin: services.ghost.admin,
      ghostUrl: services.ghost.url,
      secret: services.ghost.webhookSecret,
      clock: services.clock,
      enqueue: enqueueBlogJob,
    },
    { signature: request.headers.get('x-ghost-signature'), body },
  );
  if (!result.ok) {
    services.logger.warn({ reason: result.error.type }, 'Ghost webhook refused');
    return json(result.error.type === 'bad-payload' ? 400 : 401, { error: result.error.message });
  }
  const outcome = result.value;
  services.jobs.wake();
  if (outcome.status !== 'applied') return json(200, outcome);
  for (const s of outcome.summary.skipped) services.logger.warn({ kind: s.kind, slug: s.slug, reason: s.reason }, `Ghost ${s.kind} "${s.slug}" skipped: ${s.reason}`);
  return json(200, { status: outcome.status, resource: outcome.resource, changed: outcome.summary.changedSlugs, skipped: outcome.summary.skipped });
};
