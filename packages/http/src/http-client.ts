import { systemClock, type Clock } from '@rose/core';
import { HttpError, type HttpErrorKind } from './http.error.ts';
import { redactText, redactUrl, secretsOf } from './redact.ts';
import { backoffDelayMs, isIdempotentMethod, isRetryableStatus, parseRetryAfter, wasNeverSent } from './retry-policy.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpClientOptions {
  /** The service as users know it, named in every message: `Ghost`, `SumUp`, `the supplier site`. */
  readonly service: string;
  /** Relative request URLs resolve against it (keep the trailing `/` of a path prefix). */
  readonly baseUrl?: string | URL;
  /** The setting that holds the service's address (`GHOST_URL`), named in hints. */
  readonly urlSetting?: string;
  /** The setting that holds its credentials (`SUMUP_API_KEY`), named when they are refused. */
  readonly credentialsSetting?: string;
  /** Sent with every request (a request's own headers win). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Values never to show in errors or logs, beyond what requests carry in credential query keys and headers. */
  readonly secrets?: readonly string[];
  /** Query keys to redact besides the usual ones (`key`, `token`, `*_secret`, `signature`, `code`, …). */
  readonly sensitiveQueryKeys?: readonly string[];
  /** Per attempt, body included. Default 10 000. */
  readonly attemptTimeoutMs?: number;
  /** For the whole request, attempts and waits included. Default 60 000. */
  readonly deadlineMs?: number;
  /** Extra attempts after a failure worth retrying. Default 3. */
  readonly retries?: number;
  /** First wait between attempts; doubles each time. Default 250. */
  readonly backoffMs?: number;
  /** Cap on one back-off wait. Default 10 000. */
  readonly maxBackoffMs?: number;
  /** Share of each back-off wait taken off at random, 0–1. Default 0.5. */
  readonly jitter?: number;
  /** A Retry-After longer than this is not waited for: the request fails at once. Default 60 000. */
  readonly maxRetryAfterMs?: number;
  /** Answers larger than this fail (`too-large`). Default 32 MiB. */
  readonly maxBodyBytes?: number;
  readonly fetch?: typeof fetch;
  /** Measures the deadline and reads Retry-After dates. */
  readonly clock?: Clock;
  /** Waits between attempts; tests pass one that returns at once (and moves their clock). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source, [0, 1) like Math.random. */
  readonly random?: () => number;
  /** Told about every retry, with the URL redacted. */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface HttpRequest {
  /** Default GET. */
  readonly method?: HttpMethod;
  /** Absolute, or relative to the client's `baseUrl`. */
  readonly url: string | URL;
  /** Added to the URL's query; undefined values are left out. Spaces are sent as %20. */
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** A function is called for every attempt, so each can carry a fresh token. */
  readonly headers?: Readonly<Record<string, string>> | (() => Readonly<Record<string, string>>);
  /** Sent as JSON with `Content-Type: application/json`. */
  readonly json?: unknown;
  /** Sent as is (set the Content-Type yourself). */
  readonly body?: string | Uint8Array<ArrayBuffer> | URLSearchParams;
  /**
   * Whether sending twice does no more than sending once. Default: true for GET, HEAD, OPTIONS,
   * PUT and DELETE, false for POST and PATCH. A non-idempotent request is retried only when it
   * certainly never reached the service (connection refused, DNS) or was refused with 429; mark
   * a POST idempotent when the service de-duplicates it (an idempotency key, a unique reference).
   */
  readonly idempotent?: boolean;
  /** Statuses answered as a response instead of an error. Default: 2xx. */
  readonly accept?: (status: number) => boolean;
  readonly attemptTimeoutMs?: number;
  readonly deadlineMs?: number;
  readonly retries?: number;
  /** Cancels the request, waits included. */
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The whole body as text (the deadline covered reading it). */
  readonly body: string;
  /** The final URL (after redirects), redacted. */
  readonly url: string;
  readonly attempts: number;
  /** The body parsed as JSON (undefined when empty); a `malformed` HttpError when it is not JSON. */
  json(): unknown;
}

export interface HttpClient {
  readonly service: string;
  readonly baseUrl: URL | undefined;
  /**
   * Sends a request, retrying what is worth retrying, and returns the answer when its status is
   * accepted; otherwise throws an HttpError naming the service, its host and what to check.
   */
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** Error bodies are kept for the caller to read the service's reason; this much is plenty. */
const errorBodyLimit = 64 * 1024;

/** Waits `ms`, or rejects with the signal's reason when it is aborted first. */
export const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * An HTTP client for talking to other services (Ghost, SumUp, supplier sites, fediverse
 * servers): a deadline per attempt and for the whole request, retries with exponential
 * back-off and jitter for idempotent requests, Retry-After honoured (seconds or a date, capped),
 * typed errors that name the service, the host and what to fix, and no credential in any error
 * or log line.
 *
 * @example
 * const sumup = createHttpClient({ service: 'SumUp', baseUrl: 'https://api.sumup.com/', credentialsSetting: 'SUMUP_API_KEY' });
 * const res = await sumup.request({ url: `v0.1/checkouts/${id}`, headers: { Authorization: `Bearer ${key}` } });
 * const checkout = res.json();
 */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const settings = {
    attemptTimeoutMs: opts.attemptTimeoutMs ?? 10_000,
    deadlineMs: opts.deadlineMs ?? 60_000,
    retries: opts.retries ?? 3,
    backoffMs: opts.backoffMs ?? 250,
    maxBackoffMs: opts.maxBackoffMs ?? 10_000,
    jitter: opts.jitter ?? 0.5,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
    maxBodyBytes: opts.maxBodyBytes ?? 32 * 1024 * 1024,
  };
  checkLimits(settings);
  if (!(settings.jitter >= 0 && settings.jitter <= 1)) throw new RangeError(`jitter must be between 0 and 1, got ${settings.jitter}`);
  if (!(settings.maxBackoffMs >= 0)) throw new RangeError(`maxBackoffMs must be >= 0, got ${settings.maxBackoffMs}`);
  if (!(settings.maxRetryAfterMs >= 0)) throw new RangeError(`maxRetryAfterMs must be >= 0, got ${settings.maxRetryAfterMs}`);
  if (!(settings.maxBodyBytes > 0)) throw new RangeError(`maxBodyBytes must be positive, got ${settings.maxBodyBytes}`);
  const baseUrl = opts.baseUrl === undefined ? undefined : new URL(opts.baseUrl);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? abortableSleep;
  const random = opts.random ?? Math.random;
  const extraKeys = opts.sensitiveQueryKeys ?? [];
  const service = opts.service;

  return {
    service,
    baseUrl,
    async request(req) {
      const method = req.method ?? 'GET';
      const url = resolveUrl(baseUrl, req.url, req.query);
      const limits = { ...settings, ...pick(req) };
      checkLimits(limits);
      const idempotent = req.idempotent ?? isIdempotentMethod(method);
      const accept = req.accept ?? ((status: number) => status >= 200 && status < 300);
      const host = url.host;
      const endpoint = `${method} ${url.pathname}`;
      const shownUrl = redactUrl(url, extraKeys);
      const startedAt = clock.now().getTime();
      const deadlineAt = startedAt + limits.deadlineMs;
      const maxAttempts = limits.retries + 1;
      let secrets: string[] = [...(opts.secrets ?? [])];
      const redact = (text: string) => redactText(text, secrets);

      const fail = (failure: Failure, attempts: number, kind: HttpErrorKind = failure.kind): HttpError => {
        const text = describe({ failure, kind, attempts, service, host, endpoint, limits, urlSetting: opts.urlSetting, credentialsSetting: opts.credentialsSetting });
        return new HttpError({
          kind,
          message: redact(text.message),
          hint: text.hint,
          service,
          host,
          endpoint,
          url: shownUrl,
          attempts,
          status: failure.status,
          retryAfterMs: failure.retryAfterMs,
          networkCode: failure.networkCode,
          body: failure.body === undefined ? undefined : redact(failure.body),
          contentType: failure.contentType,
          location: failure.location === undefined ? undefined : redact(redactUrl(stripQuery(failure.location), extraKeys)),
          limitMs: kind === 'deadline' ? limits.deadlineMs : kind === 'timeout' ? failure.limitMs : undefined,
          cause: failure.cause,
        });
      };

      for (let attempt = 1; ; attempt++) {
        const remaining = deadlineAt - clock.now().getTime();
        const headers = { ...opts.headers, ...(typeof req.headers === 'function' ? req.headers() : req.headers) };
        secrets = [...(opts.secrets ?? []), ...secretsOf(url, headers, extraKeys)];
        const outcome = await attemptOnce({ doFetch, method, url, headers, req, idempotent, accept, remaining, limits, nowMs: () => clock.now().getTime() });
        if (outcome.ok) {
          const { response } = outcome;
          return {
            ...response,
            url: redactUrl(response.url, extraKeys),
            attempts: attempt,
            json: () => {
              if (response.body.trim() === '') return undefined;
              try {
                return JSON.parse(response.body) as unknown;
              } catch (cause) {
                throw fail({ kind: 'malformed', retry: false, status: response.status, contentType: response.headers.get('content-type') ?? undefined, cause }, attempt);
              }
            },
          };
        }
        const failure = outcome.failure;
        if (!failure.retry || attempt >= maxAttempts) throw fail(failure, attempt);
        const waitMs = failure.retryAfterMs ?? backoffDelayMs(attempt, limits, random);
        if (clock.now().getTime() + waitMs >= deadlineAt) throw fail(failure, attempt, 'deadline');
        opts.log?.(`${service}: retrying ${endpoint} in ${waitMs} ms`, {
          service,
          url: shownUrl,
          attempt,
          waitMs,
          reason: redact(shortReason(failure)),
        });
        try {
          await sleep(waitMs, req.signal);
        } catch (cause) {
          if (req.signal?.aborted) throw fail({ kind: 'aborted', retry: false, cause }, attempt);
          throw cause;
        }
      }
    },
  };
}

interface Limits {
  readonly attemptTimeoutMs: number;
  readonly deadlineMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly jitter: number;
  readonly maxRetryAfterMs: number;
  readonly maxBodyBytes: number;
}

/** One attempt that did not give an accepted answer, and whether another may help. */
interface Failure {
  readonly kind: HttpErrorKind;
  readonly retry: boolean;
  readonly status?: number;
  /** What Retry-After asked for; also the wait before the next attempt. */
  readonly retryAfterMs?: number;
  /** The service asked for a wait longer than maxRetryAfterMs. */
  readonly retryAfterTooLong?: boolean;
  readonly networkCode?: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly location?: string;
  readonly limitMs?: number;
  readonly cause?: unknown;
}

type Outcome = { ok: true; response: { status: number; statusText: string; headers: Headers; body: string; url: string } } | { ok: false; failure: Failure };

async function attemptOnce(a: {
  doFetch: typeof fetch;
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  req: HttpRequest;
  idempotent: boolean;
  accept: (status: number) => boolean;
  remaining: number;
  limits: Limits;
  nowMs: () => number;
}): Promise<Outcome> {
  const { req, limits } = a;
  if (req.signal?.aborted) return { ok: false, failure: { kind: 'aborted', retry: false, cause: req.signal.reason } };
  // The deadline may leave less time than a whole attempt; then it is what cuts the attempt short.
  const byDeadline = a.remaining < limits.attemptTimeoutMs;
  const limitMs = Math.max(0, Math.min(limits.attemptTimeoutMs, a.remaining));
  if (limitMs === 0) return { ok: false, failure: { kind: 'deadline', retry: false } };
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new Error(`no answer within ${limitMs} ms`)), limitMs);
  const signal = req.signal ? AbortSignal.any([timer.signal, req.signal]) : timer.signal;
  const headers = { ...a.headers };
  let body: string | Uint8Array<ArrayBuffer> | URLSearchParams | undefined = req.body;
  if (req.json !== undefined) {
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    body = JSON.stringify(req.json);
  }

  // What to report when the exchange was cut short: by our timer, the deadline or the caller.
  const interrupted = (cause: unknown): Failure | undefined => {
    if (req.signal?.aborted) return { kind: 'aborted', retry: false, cause };
    if (!timer.signal.aborted) return undefined;
    // A write that timed out may still have been carried out.
    return byDeadline ? { kind: 'deadline', retry: false, limitMs, cause } : { kind: 'timeout', retry: a.idempotent, limitMs, cause };
  };

  try {
    let res: Response;
    try {
      res = await a.doFetch(a.url, {
        method: a.method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal,
        // fetch turns a redirected POST into a GET; a write must see the redirect instead.
        redirect: a.method === 'GET' || a.method === 'HEAD' ? 'follow' : 'manual',
      });
    } catch (cause) {
      const cut = interrupted(cause);
      if (cut) return { ok: false, failure: cut };
      const networkCode = errorCode(cause);
      return { ok: false, failure: { kind: 'network', retry: a.idempotent || wasNeverSent(networkCode), ...(networkCode ? { networkCode } : {}), cause } };
    }

    const status = res.status;
    const accepted = a.accept(status);
    const contentType = res.headers.get('content-type') ?? undefined;
    let text: string;
    let truncated: boolean;
    try {
      // An error's body is only read for its reason: cut it short rather than fail on it.
      ({ text, truncated } = await readBody(res, accepted ? limits.maxBodyBytes : errorBodyLimit, accepted));
    } catch (cause) {
      const cut = interrupted(cause);
      if (cut) return { ok: false, failure: cut };
      const networkCode = errorCode(cause);
      // The request arrived (an answer started), so only an idempotent one may be sent again.
      return { ok: false, failure: { kind: 'network', retry: a.idempotent, status, ...(networkCode ? { networkCode } : {}), cause } };
    }

    if (accepted) {
      if (truncated) return { ok: false, failure: { kind: 'too-large', retry: false, status, ...(contentType ? { contentType } : {}) } };
      return { ok: true, response: { status, statusText: res.statusText, headers: res.headers, body: text, url: res.url || a.url.toString() } };
    }

    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), a.nowMs());
    const retryAfterTooLong = retryAfterMs !== undefined && retryAfterMs > limits.maxRetryAfterMs;
    const worthRetrying = isRetryableStatus(status) && (a.idempotent || status === 429) && !retryAfterTooLong;
    const location = status >= 300 && status < 400 ? (res.headers.get('location') ?? undefined) : undefined;
    return {
      ok: false,
      failure: {
        kind: 'status',
        retry: worthRetrying,
        status,
        body: text,
        ...(contentType ? { contentType } : {}),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        ...(retryAfterTooLong ? { retryAfterTooLong } : {}),
        ...(location === undefined ? {} : { location }),
      },
    };
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * Reads at most `limit` bytes of the body; `truncated` says there was more. With `strict`, an
 * answer that announces more than the limit is not read at all.
 */
async function readBody(res: Response, limit: number, strict: boolean): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (strict && Number.isFinite(declared) && declared > limit) {
    await reader.cancel();
    return { text: '', truncated: true };
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size));
      await reader.cancel();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function resolveUrl(base: URL | undefined, target: string | URL, query: HttpRequest['query']): URL {
  let url: URL;
  try {
    url = base ? new URL(target, base) : new URL(target);
  } catch {
    throw new RangeError(`Not a URL${base ? '' : ' (and the client has no baseUrl)'}: ${JSON.stringify(redactUrl(String(target)))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`Only http and https URLs can be requested, got ${url.protocol}`);
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
  // URLSearchParams writes spaces as "+"; %20 means a space to every server in between.
  url.search = url.search.replace(/\+/g, '%20');
  return url;
}

function pick(req: HttpRequest): Partial<Limits> {
  const out: { -readonly [K in keyof Limits]?: Limits[K] } = {};
  if (req.attemptTimeoutMs !== undefined) out.attemptTimeoutMs = req.attemptTimeoutMs;
  if (req.deadlineMs !== undefined) out.deadlineMs = req.deadlineMs;
  if (req.retries !== undefined) out.retries = req.retries;
  return out;
}

function checkLimits(l: Pick<Limits, 'attemptTimeoutMs' | 'deadlineMs' | 'retries' | 'backoffMs'>): void {
  if (!(l.attemptTimeoutMs > 0)) throw new RangeError(`attemptTimeoutMs must be positive, got ${l.attemptTimeoutMs}`);
  if (!(l.deadlineMs > 0)) throw new RangeError(`deadlineMs must be positive, got ${l.deadlineMs}`);
  if (!Number.isInteger(l.retries) || l.retries < 0) throw new RangeError(`retries must be a whole number >= 0, got ${l.retries}`);
  if (!(l.backoffMs >= 0)) throw new RangeError(`backoffMs must be >= 0, got ${l.backoffMs}`);
}

/** The socket error code, which undici wraps: TypeError('fetch failed', { cause: { code } }). */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function causeText(error: unknown): string {
  let e: unknown = error;
  // "fetch failed" says nothing; the innermost message does.
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

function stripQuery(location: string): string {
  return location.split(/[?#]/)[0] ?? location;
}

function shortReason(f: Failure): string {
  switch (f.kind) {
    case 'status':
      return `HTTP ${f.status}`;
    case 'network':
      return f.networkCode ?? causeText(f.cause);
    case 'timeout':
    case 'deadline':
      return `no answer within ${f.limitMs} ms`;
    default:
      return f.kind;
  }
}

function describe(d: {
  failure: Failure;
  kind: HttpErrorKind;
  attempts: number;
  service: string;
  host: string;
  endpoint: string;
  limits: Limits;
  urlSetting: string | undefined;
  credentialsSetting: string | undefined;
}): { message: string; hint: string } {
  const { failure: f, service: s, host, endpoint } = d;
  const at = `${s} at ${host}`;
  const tries = d.attempts === 1 ? '' : ` (${d.attempts} attempts)`;
  const address = d.urlSetting ? `the address in ${d.urlSetting}` : `the address of ${s}`;
  switch (d.kind) {
    case 'deadline': {
      const last = f.kind === 'deadline' || f.kind === 'timeout' ? '' : `; last: ${shortReason(f)}`;
      const asked = f.retryAfterMs !== undefined && f.kind === 'status' ? `, and it asked to wait ${formatSeconds(f.retryAfterMs)}` : '';
      return {
        message: `${at} did not answer ${endpoint}${last ? ' successfully' : ''} within the ${d.limits.deadlineMs} ms deadline${tries}${last}${asked}.`,
        hint: `${s} is failing or slow; try again later, or allow more time if it is just slow.`,
      };
    }
    case 'timeout':
      return {
        message: `${at} did not answer ${endpoint} within ${f.limitMs} ms${tries}.`,
        hint: `Check that ${s} is running and not overloaded; allow more time if it is just slow.`,
      };
    case 'network':
      return {
        message: `Could not reach ${at} for ${endpoint}: ${f.networkCode ?? causeText(f.cause)}${tries}.`,
        hint: `Check ${address} and that ${s} is running and reachable from this machine.`,
      };
    case 'too-large':
      return {
        message: `${at} answered ${endpoint} with more than ${d.limits.maxBodyBytes} bytes.`,
        hint: `Check ${address}: this is more than ${s} should ever send; raise maxBodyBytes if the answer is really that large.`,
      };
    case 'malformed':
      return {
        message: `${at} answered ${endpoint} with something that is not JSON (${f.contentType ? `content-type ${f.contentType.split(';')[0]}` : 'no content-type'}).`,
        hint: `Check that ${address} is ${s} itself and not a proxy or login page in front of it.`,
      };
    case 'aborted':
      return { message: `The request ${endpoint} to ${at} was cancelled.`, hint: 'Nothing to fix: the caller cancelled it.' };
    case 'status':
      return describeStatus(f, at, endpoint, tries, s, address, d.urlSetting, d.credentialsSetting);
  }
}

function describeStatus(
  f: Failure,
  at: string,
  endpoint: string,
  tries: string,
  s: string,
  address: string,
  urlSetting: string | undefined,
  credentialsSetting: string | undefined,
): { message: string; hint: string } {
  const status = f.status ?? 0;
  if (status >= 300 && status < 400) {
    return {
      message: `${at} redirects ${endpoint} to ${f.location ? stripQuery(f.location) : 'another address'} (HTTP ${status}).`,
      hint: `${urlSetting ? `Set ${urlSetting} to` : 'Use'} the exact address ${s} answers on: check http vs https, www and any path prefix.`,
    };
  }
  if (status === 401 || status === 403) {
    return {
      message: `${at} refused the credentials for ${endpoint} (HTTP ${status}).`,
      hint: credentialsSetting ? `Check ${credentialsSetting}: the key may be wrong, revoked or lack the permission.` : `Check the credentials for ${s}.`,
    };
  }
  if (status === 404) {
    return { message: `${at} has nothing at ${endpoint} (HTTP 404).`, hint: `Check ${address}: a missing path prefix or another service at that address gives this.` };
  }
  if (status === 429) {
    const asked = f.retryAfterTooLong && f.retryAfterMs !== undefined ? ` and asked us to wait ${formatSeconds(f.retryAfterMs)}` : '';
    return { message: `${at} kept refusing ${endpoint} with 429 Too Many Requests${asked}${tries}.`, hint: `${s} is rate-limiting this client; try again later or send fewer requests.` };
  }
  if (status >= 400 && status < 500) {
    return { message: `${at} refused ${endpoint} (HTTP ${status}).`, hint: `${s} refused the request itself; its answer (the error's body) says why.` };
  }
  const asked = f.retryAfterTooLong && f.retryAfterMs !== undefined ? ` and asked us to wait ${formatSeconds(f.retryAfterMs)}` : '';
  return { message: `${at} failed on ${endpoint} (HTTP ${status})${asked}${tries}.`, hint: `${s}, or a proxy in front of it, is failing; check its status and try again later.` };
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
