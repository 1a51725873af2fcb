import type { APIRoute } from 'astro';
import { linkPaths } from '@rose/core';
import { clearSessionCookie } from '../../lib/session-cookie.ts';

export const prerender = false;

/** POST only (a link could be triggered by another site); Astro's origin check covers CSRF. */
export const POST: APIRoute = async ({ locals, cookies, redirect }) => {
  const { services } = locals;
  if (locals.session) await services.auth.sessions.invalidate(locals.session.id);
  clearSessionCookie(cookies, services.config.siteUrl);
  return redirect(linkPaths.blog.home(), 303);
};
