import type { APIRoute } from 'astro';
import { sameHost } from '@rose/app';
import { linkPaths } from '@rose/core';
import { safeReturnPath } from '../../../lib/session-cookie.ts';

export const prerender = false;

/** Sign in on a part served on its own host: through the co-op's OpenID provider. */
export const GET: APIRoute = async ({ url, locals, cookies, redirect }) => {
  const { services } = locals;
  const returnTo = safeReturnPath(url.searchParams.get('return_to'));
  const login = linkPaths.auth.login(returnTo);
  if (sameHost(locals.origin, services.config.siteUrl)) return redirect(login, 303);
  const started = await services.oauth.sso.start(locals.origin, returnTo);
  if (!started.ok) {
    // The fix is for staff, in the log; the visitor signs in on the site's own origin.
    services.logger.error({ origin: locals.origin, fix: `add ${locals.origin} to ROSE_PART_ORIGINS, or rose oauth clients add --first-party --redirect-uri ${new URL(linkPaths.auth.ssoCallback(), locals.origin)}` }, 'no single sign-on client for this host');
    return redirect(new URL(login, services.config.siteUrl).toString(), 303);
  }
  cookies.set('rose_sso', Buffer.from(JSON.stringify(started.value.state)).toString('base64url'), {
    httpOnly: true,
    sameSite: 'lax',
    secure: locals.origin.startsWith('https:'),
    path: linkPaths.auth.ssoCookiePath(),
    maxAge: 600,
  });
  return redirect(started.value.authorizationUrl, 302);
};
