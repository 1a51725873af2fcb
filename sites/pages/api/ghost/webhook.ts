import type { APIRoute } from 'astro';

export const prerender = false;

const maxBodyBytes = 10 * 1024 * 1024;
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });

/**
 * Ghost webhooks (post.*, page.*, tag.*, site.changed). Signed with GHOST_WEBHOOK_SECRET;
 * anything unsigned, tampered or older than 5 minutes gets 401 and changes nothing.
 */
export const POST: APIRoute = async ({ request, locals }) => {
  const { services } = locals;
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > maxBodyBytes) return json(413, { error: `The body is larger than ${maxBodyBytes} bytes.` });
  const body = await request.text();
  if (body.length > maxBodyBytes) return json(413, { error: `The body is larger than ${maxBodyBytes} bytes.` });
  const result = await services.ghost.handleWebhook({ signature: request.headers.get('x-ghost-signature'), body });
  if (!result.ok) {
    const { type, message } = result.error;
    if (type !== 'not-configured') services.logger.warn({ reason: type }, 'Ghost webhook refused');
    return json(type === 'not-configured' ? 503 : type === 'bad-payload' ? 400 : 401, { error: message });
  }
  const outcome = result.value;
  if (outcome.status !== 'applied') return json(200, outcome);
  // Items the blog's import rule left out (a slug it cannot serve), as `rose ghost sync` reports them.
  for (const s of outcome.summary.skipped) services.logger.warn({ kind: s.kind, slug: s.slug, reason: s.reason }, `Ghost ${s.kind} "${s.slug}" skipped: ${s.reason}`);
  return json(200, { status: outcome.status, resource: outcome.resource, changed: outcome.summary.changedSlugs, skipped: outcome.summary.skipped });
};
