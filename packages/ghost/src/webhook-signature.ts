import { createHmac, timingSafeEqual } from 'node:crypto';
import { err, ok, type Result } from '@rose/core';

/**
 * Why a webhook delivery was not accepted.
 * - `missing`: no `X-Ghost-Signature` header (Ghost only signs when the webhook has a secret).
 * - `malformed`: the header is not `sha256=<64 hex>, t=<ms>`.
 * - `bad-signature`: signed with another secret, or the body/timestamp was altered.
 * - `stale`: genuinely signed but too old (a replay) or too far in the future (clock skew).
 *   `ageMs` is how old it is; negative means from the future.
 */
export type GhostSignatureFailure =
  | { readonly type: 'missing' }
  | { readonly type: 'malformed'; readonly reason: string }
  | { readonly type: 'bad-signature' }
  | { readonly type: 'stale'; readonly ageMs: number };

export interface VerifyGhostSignatureInput {
  /** The `X-Ghost-Signature` header as received (Node gives `string | string[] | undefined`). */
  readonly header: string | readonly string[] | null | undefined;
  /** The raw request body, exactly as received: re-serialised JSON will not match. */
  readonly body: string | Uint8Array;
  /** The secret the webhook was created with. */
  readonly secret: string;
  readonly now: Date;
  /** Oldest accepted delivery. Default 5 minutes. */
  readonly maxAgeMs?: number;
  /** Furthest accepted into the future (clock skew). Default 5 minutes. */
  readonly maxFutureMs?: number;
}

const headerPattern = /^sha256=([0-9a-f]{64}),\s*t=(\d{1,16})$/i;

/**
 * Checks a Ghost webhook delivery. Ghost sends
 * `X-Ghost-Signature: sha256=<hex HMAC-SHA256(secret, body + t)>, t=<ms since epoch>`, where
 * `t` is the delivery's own timestamp (Ghost's `webhook-trigger.js`).
 *
 * @example
 * const checked = verifyGhostSignature({ header: req.headers['x-ghost-signature'], body: rawBody, secret, now: clock.now() });
 * if (!checked.ok) return new Response(null, { status: 401 });
 */
export function verifyGhostSignature(input: VerifyGhostSignatureInput): Result<{ timestamp: Date }, GhostSignatureFailure> {
  if (input.secret === '') throw new Error('verifyGhostSignature needs the webhook secret; an empty secret means Ghost does not sign at all');
  const maxAgeMs = input.maxAgeMs ?? 300_000;
  const maxFutureMs = input.maxFutureMs ?? 300_000;

  let header = input.header;
  if (Array.isArray(header)) {
    if (header.length > 1) return err({ type: 'malformed', reason: 'the header was sent more than once' });
    header = header[0];
  }
  if (typeof header !== 'string' || header.trim() === '') return err({ type: 'missing' });

  const match = headerPattern.exec(header.trim());
  if (!match) return err({ type: 'malformed', reason: 'expected "sha256=<64 hex characters>, t=<milliseconds>"' });
  const [, signatureHex = '', timestampText = ''] = match;
  const timestampMs = Number(timestampText);

  const expected = hmac(input.secret, input.body, timestampText);
  const given = Buffer.from(signatureHex, 'hex');
  // timingSafeEqual throws on different lengths; the pattern already pins 32 bytes, this keeps it so.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return err({ type: 'bad-signature' });

  // Checked after the signature, so `stale` is only ever said of deliveries that really came from Ghost.
  const ageMs = input.now.getTime() - timestampMs;
  if (ageMs > maxAgeMs || -ageMs > maxFutureMs) return err({ type: 'stale', ageMs });
  return ok({ timestamp: new Date(timestampMs) });
}

/**
 * The `X-Ghost-Signature` value Ghost would send for `body` at `now`; for tests and local
 * tools that replay deliveries.
 */
export function signGhostPayload(body: string | Uint8Array, secret: string, now: Date): string {
  const t = String(now.getTime());
  return `sha256=${hmac(secret, body, t).toString('hex')}, t=${t}`;
}

function hmac(secret: string, body: string | Uint8Array, timestamp: string): Buffer {
  // Ghost signs the string `${body}${ts}`: the same bytes as body then the digits.
  return createHmac('sha256', secret).update(body).update(timestamp).digest();
}
