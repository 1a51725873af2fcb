import type { AstroCookies } from 'astro';
import { sameHost, type OriginSettings } from '@rose/app';
import { linkPaths } from '@rose/core';

/** Host-only (no Domain), HttpOnly, SameSite=Lax, Secure when the site is served over https. */
export const sessionCookieName = 'rose_session';

export function setSessionCookie(cookies: AstroCookies, token: string, expiresAt: Date, siteUrl: string): void {
  cookies.set(sessionCookieName, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: new URL(siteUrl).protocol === 'https:',
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(cookies: AstroCookies, siteUrl: string): void {
  cookies.set(sessionCookieName, '', { httpOnly: true, sameSite: 'lax', secure: new URL(siteUrl).protocol === 'https:', path: '/', maxAge: 0 });
}

/** Only same-site paths may be a destination after login (no open redirects). */
export function safeReturnPath(value: string | null | undefined, fallback = linkPaths.account.home()): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\u0000-\u001f]/.test(value)) return fallback;
  return value;
}

/**
 * Where "Sign in" goes: the login form on the provider's own host, single sign-on through
 * the provider on a part's own host (each part keeps its own host-only cookie), and the
 * site's login form from any other address the site was reached on.
 */
export function signInPath(origin: string, site: Pick<OriginSettings, 'siteUrl' | 'partOrigins'>, returnTo: string): string {
  const back = safeReturnPath(returnTo);
  if (sameHost(origin, site.siteUrl)) return linkPaths.auth.login(back);
  if (site.partOrigins.some((part) => sameHost(origin, part))) return linkPaths.auth.ssoStart(back);
  return new URL(linkPaths.auth.login(back), site.siteUrl).toString();
}
