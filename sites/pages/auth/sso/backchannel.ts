import type { APIRoute } from 'astro';

export const prerender = false;

/** OpenID back-channel logout: the provider tells this part that a user signed out. */
export const POST: APIRoute = async ({ request, locals }) => {
  const { services } = locals;
  const form = await request.formData().catch(() => undefined);
  const token = form?.get('logout_token');
  if (typeof token !== 'string' || token.length > 10_000) return new Response('logout_token missing', { status: 400, headers: { 'Cache-Control': 'no-store' } });
  const ok = await services.oauth.sso.backchannelLogout(token);
  return new Response(null, { status: ok ? 200 : 400, headers: { 'Cache-Control': 'no-store' } });
};
