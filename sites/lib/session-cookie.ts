import type { AstroCookies } from 'astro';

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
export function safeReturnPath(value: string | null | undefined, fallback = '/account/'): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\u0000-\u001f]/.test(value)) return fallback;
  return value;
}

/**
 * Where "Sign in" goes: the login form on the provider's own host, single sign-on through
 * the provider on any other host (each part keeps its own host-only cookie).
 */
export function signInPath(requestUrl: URL, siteUrl: string, returnTo: string): string {
  const path = requestUrl.origin === new URL(siteUrl).origin ? '/auth/login' : '/auth/sso/start';
  return `${path}?return_to=${encodeURIComponent(safeReturnPath(returnTo))}`;
}
