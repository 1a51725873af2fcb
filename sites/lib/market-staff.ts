import type { AstroGlobal } from 'astro';
import { describeManageError } from '@rose/app';
import { signInPath } from './session-cookie.ts';

type Result = { ok: true } | { ok: false; error: Parameters<typeof describeManageError>[0] };

/**
 * The gate of the market's staff pages: a signed-in staff member or admin, or a redirect to
 * sign in (nobody signed in) or a 403 page (a member). Staff pages are never framed.
 */
export function staffGate(Astro: AstroGlobal, here: string): { redirect: Response } | { forbidden: true } | { actor: string } {
  const user = Astro.locals.user;
  Astro.response.headers.set('X-Frame-Options', 'DENY');
  Astro.response.headers.set('Content-Security-Policy', "frame-ancestors 'none'");
  if (!user) return { redirect: Astro.redirect(signInPath(Astro.locals.origin, Astro.locals.services.config, here), 303) };
  if (user.role !== 'staff' && user.role !== 'admin') {
    Astro.response.status = 403;
    return { forbidden: true };
  }
  return { actor: `user:${user.id}` };
}

/** A staff change's outcome as a message (and the status when it failed). */
export function outcome(Astro: AstroGlobal, result: Result, done: string): { message?: string; error?: string } {
  if (result.ok) return { message: done };
  Astro.response.status = result.error.type === 'not-found' ? 404 : result.error.type === 'conflict' ? 409 : 400;
  return { error: describeManageError(result.error) };
}

/** A form field as text, trimmed and cut to `max` characters. */
export function field(form: FormData, name: string, max = 200): string {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}
