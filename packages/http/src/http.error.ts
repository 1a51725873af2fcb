import { RoseError } from '@rose/core';

/**
 * Why a request failed, after any retries.
 * - `status`: the service answered with a status the caller did not accept (4xx, 5xx, a
 *   redirect on a write); `status`, `body` and `location` tell more.
 * - `timeout`: an attempt got no complete answer (body included) within `attemptTimeoutMs`.
 * - `deadline`: the overall deadline passed, or would pass before the next attempt.
 * - `network`: the connection failed (refused, DNS, reset); `networkCode` names it.
 * - `too-large`: the answer was larger than `maxBodyBytes`.
 * - `malformed`: `json()` on an answer that is not JSON.
 * - `aborted`: the caller's signal cancelled the request.
 */
export type HttpErrorKind = 'status' | 'timeout' | 'deadline' | 'network' | 'too-large' | 'malformed' | 'aborted';

const titles: Record<HttpErrorKind, string> = {
  status: 'Request refused',
  timeout: 'No answer in time',
  deadline: 'Deadline passed',
  network: 'Service unreachable',
  'too-large': 'Answer too large',
  malformed: 'Unexpected answer',
  aborted: 'Request cancelled',
};

/**
 * A request to another service that failed. Every text field is redacted: credential query
 * values, credential headers and the client's `secrets` never appear, even when the service
 * repeats them in its answer.
 */
export class HttpError extends RoseError {
  readonly kind: HttpErrorKind;
  /** The service as the client names it (`Ghost`, `SumUp`). */
  readonly service: string;
  /** Host (and port) the request went to. */
  readonly host: string;
  /** Method and path without the query, e.g. `GET /v0.1/checkouts/42`. */
  readonly endpoint: string;
  /** The whole URL, redacted. */
  readonly url: string;
  /** Requests made, retries included. */
  readonly attempts: number;
  /** Status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** What the last answer's Retry-After asked for, in ms. */
  readonly retryAfterMs: number | undefined;
  /** The socket error code of a `network` failure (`ECONNREFUSED`, `ENOTFOUND`, …). */
  readonly networkCode: string | undefined;
  /** The start of the last answer's body (at most 64 KiB), redacted. */
  readonly body: string | undefined;
  /** Content-Type of the last answer. */
  readonly contentType: string | undefined;
  /** Where a redirect pointed (no query string). */
  readonly location: string | undefined;
  /** The limit that ran out, for `timeout` and `deadline`. */
  readonly limitMs: number | undefined;

  constructor(opts: {
    kind: HttpErrorKind;
    message: string;
    hint: string;
    service: string;
    host: string;
    endpoint: string;
    url: string;
    attempts: number;
    status?: number | undefined;
    retryAfterMs?: number | undefined;
    networkCode?: string | undefined;
    body?: string | undefined;
    contentType?: string | undefined;
    location?: string | undefined;
    limitMs?: number | undefined;
    cause?: unknown;
  }) {
    super({ code: `http-${opts.kind}`, title: titles[opts.kind], message: opts.message, hint: opts.hint, cause: opts.cause });
    this.name = 'HttpError';
    this.kind = opts.kind;
    this.service = opts.service;
    this.host = opts.host;
    this.endpoint = opts.endpoint;
    this.url = opts.url;
    this.attempts = opts.attempts;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.networkCode = opts.networkCode;
    this.body = opts.body;
    this.contentType = opts.contentType;
    this.location = opts.location;
    this.limitMs = opts.limitMs;
  }
}
