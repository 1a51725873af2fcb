import { RoseError } from '@rose/core';

/**
 * Why a Ghost request failed.
 * - `unauthorized`: 401/403, the key is wrong or revoked.
 * - `not-found`: 404 on an API root, so the URL is not a Ghost site (or not its API address).
 * - `rejected`: another 4xx, Ghost refused the request itself (e.g. 422 for a duplicate webhook).
 * - `server`: 5xx (or 429) that did not clear up after the retries.
 * - `network`: the connection failed (refused, DNS, reset) after the retries.
 * - `timeout`: no complete answer within `timeoutMs`, after the retries.
 * - `malformed`: the answer was not JSON or not the shape we rely on.
 */
export type GhostApiErrorKind = 'unauthorized' | 'not-found' | 'rejected' | 'server' | 'network' | 'timeout' | 'malformed';

/** Which key a client authenticates with; named in messages so the user knows which setting to fix. */
export type GhostKeySetting = 'GHOST_CONTENT_KEY' | 'GHOST_ADMIN_KEY';

const titles: Record<GhostApiErrorKind, string> = {
  unauthorized: 'Ghost rejected the API key',
  'not-found': 'Not a Ghost site',
  rejected: 'Ghost refused the request',
  server: 'Ghost is failing',
  network: 'Ghost unreachable',
  timeout: 'Ghost did not answer in time',
  malformed: 'Unexpected answer from Ghost',
};

/**
 * A Ghost Content/Admin API call that failed. Messages never contain API keys or secrets;
 * `endpoint` is the path without the query string (which carries the Content API key).
 */
export class GhostApiError extends RoseError {
  readonly kind: GhostApiErrorKind;
  /** HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** Method and path, e.g. `GET /ghost/api/content/posts/`. */
  readonly endpoint: string;
  /** How many requests were made, retries included. */
  readonly attempts: number;
  /** For `malformed`: the offending fields, e.g. `posts[2].slug: expected string`. */
  readonly problems: readonly string[];

  constructor(opts: {
    kind: GhostApiErrorKind;
    message: string;
    hint: string;
    endpoint: string;
    attempts: number;
    status?: number;
    problems?: readonly string[];
    cause?: unknown;
  }) {
    super({ code: `ghost-${opts.kind}`, title: titles[opts.kind], message: opts.message, hint: opts.hint, cause: opts.cause });
    this.name = 'GhostApiError';
    this.kind = opts.kind;
    this.status = opts.status;
    this.endpoint = opts.endpoint;
    this.attempts = opts.attempts;
    this.problems = opts.problems ?? [];
  }
}
