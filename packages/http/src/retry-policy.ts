/** Methods RFC 9110 calls idempotent: repeating them has the effect of sending them once. */
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotentMethod(method: string): boolean {
  return idempotentMethods.has(method.toUpperCase());
}

/**
 * Statuses worth another try: 408, 429 and server failures. 501 (not implemented) and 505
 * (version not supported) will not change by asking again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Socket errors raised before the request was sent: safe to retry even a POST. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export function wasNeverSent(networkCode: string | undefined): boolean {
  return networkCode !== undefined && notSentCodes.has(networkCode);
}

export interface BackoffSettings {
  /** The first wait; each retry doubles it. */
  readonly backoffMs: number;
  /** No wait grows beyond this. */
  readonly maxBackoffMs: number;
  /** Share of each wait taken off at random (0: none, 1: anything down to 0). */
  readonly jitter: number;
}

/**
 * How long to wait before attempt `attempt + 1`: `backoffMs × 2^(attempt-1)`, capped, less a
 * random share (`jitter`) so many clients retrying together spread out.
 * `random` returns [0, 1), as Math.random.
 */
export function backoffDelayMs(attempt: number, settings: BackoffSettings, random: () => number): number {
  const base = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** (attempt - 1));
  return Math.round(base * (1 - settings.jitter * random()));
}

/**
 * A Retry-After header in ms: delay-seconds (`120`) or an HTTP date, measured from `nowMs`.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // RFC 9110 dates always name the weekday or month; a bare number with a sign or dot is neither.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
