import type { APIRoute } from 'astro';
import type { SsoState } from '@rose/app';
import { linkPaths } from '@rose/core';
import { setSessionCookie } from '../../../lib/session-cookie.ts';

export const prerender = false;

const text = (status: number, body: string) => new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });

/** Back from the provider: check state, exchange the code (PKCE), verify the id_token, open a local session. */
export const GET: APIRoute = async ({ url, locals, cookies, request, clientAddress, redirect }) => {
  const { services } = locals;
  let saved: SsoState | undefined;
  try {
    const raw = cookies.get('rose_sso')?.value;
    saved = raw ? (JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as SsoState) : undefined;
  } catch {
    saved = undefined;
  }
  cookies.delete('rose_sso', { path: linkPaths.auth.ssoCookiePath() });
  // The redirect_uri the provider knows is on the origin the visitor sees (behind a proxy,
  // not the one this server was reached on).
  const callbackUrl = new URL(url.pathname + url.search, locals.origin);
  const result = await services.oauth.sso.finish(callbackUrl, saved, { userAgent: request.headers.get('user-agent'), ip: clientAddress });
  if (!result.ok) {
    services.logger.warn({ reason: result.error.type }, 'single sign-on refused');
    switch (result.error.type) {
      case 'state-mismatch':
        return text(400, 'This sign-in did not start here (or took too long). Please try again.');
      case 'denied':
        return text(403, 'Sign-in was not completed.');
      case 'unknown-account':
        return text(403, 'Unknown account.');
      default:
        return text(400, 'The sign-in response could not be verified. Please try again.');
    }
  }
  setSessionCookie(cookies, result.value.token, result.value.expiresAt, locals.origin);
  return redirect(result.value.returnTo, 303);
};
