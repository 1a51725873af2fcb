import type { AstroGlobal } from 'astro';

/** "30 seconds", "2 minutes": how long to wait, in words. */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

/** Marks the page's answer as 429 Too Many Requests with Retry-After; returns the wait in words. */
export function tooManyRequests(astro: Pick<AstroGlobal, 'response'>, retryAfterSeconds: number): string {
  astro.response.status = 429;
  astro.response.statusText = 'Too Many Requests';
  astro.response.headers.set('Retry-After', String(retryAfterSeconds));
  return waitText(retryAfterSeconds);
}
