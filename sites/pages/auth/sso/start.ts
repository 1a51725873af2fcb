import type { APIRoute } from 'astro';
import { getServices } from '@rose/app';
import { safeReturnPath } from '../../../lib/session-cookie.ts';

export const prerender = false;

/** Sign in on a part served on its own host: through the co-op's OpenID provider. */
export const GET: APIRoute = async ({ url, cookies, redirect }) => {
  const services = await getServices();
  if (url.origin === new URL(services.config.siteUrl).origin) return redirect(`/auth/login?return_to=${encodeURIComponent(safeReturnPath(url.searchParams.get('return_to')))}`, 303);
  const started = await services.sso.start(url.origin, safeReturnPath(url.searchParams.get('return_to')));
  if (!started.ok) return new Response(`No single sign-on client is registered for ${url.origin}: run \`rose oauth clients add --first-party --redirect-uri ${url.origin}/auth/sso/callback\`.`, { status: 503 });
  cookies.set('rose_sso', Buffer.from(JSON.stringify(started.value.state)).toString('base64url'), {
    httpOnly: true,
    sameSite: 'lax',
    secure: url.protocol === 'https:',
    path: '/auth/sso/',
    maxAge: 600,
  });
  return redirect(started.value.authorizationUrl, 302);
};
