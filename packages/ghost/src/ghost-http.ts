import type { z } from 'zod';
import { ConfigError, parseWithFriendlyErrors } from '@rose/core';
import { GhostApiError, type GhostApiErrorKind, type GhostKeySetting } from './ghost-api.error.ts';

/** The shared transport of both clients: timeouts, retries, and Ghost's answers turned into errors. */
export interface GhostTransport {
  /** Site address as given, e.g. `https://coop.example/blog/`; always ends in `/`. */
  readonly base: URL;
  readonly setting: GhostKeySetting;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Values that must never appear in an error message (keys, secrets). */
  readonly secrets: readonly string[];
}

export interface GhostRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Relative to the site address, e.g. `ghost/api/content/posts/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Called for every attempt, so each one can carry a fresh token. */
  readonly headers?: () => Record<string, string>;
  readonly body?: unknown;
  /**
   * False for requests that must not be repeated once Ghost may have acted on them (creating a
   * webhook): those are retried only when the connection was never made, or on 429.
   */
  readonly idempotent: boolean;
  /** Treat a 404 that Ghost itself answered (a JSON `errors` body) as an answer, not as a wrong GHOST_URL. */
  readonly ghost404IsAnswer?: boolean;
}

export interface GhostAnswer {
  readonly status: number;
  /** Parsed JSON; undefined for an empty body (204). */
  readonly body: unknown;
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Ghost may ask us to wait (429 Retry-After); beyond this we give up rather than stall a sync. */
const maxRetryAfterMs = 60_000;
/** Connection failures where the request certainly never reached Ghost. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Validates the site address once, at client creation. */
export function parseGhostUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `GHOST_URL is not a URL: ${JSON.stringify(url)}.`,
      'Set GHOST_URL to the address of the Ghost site, e.g. https://news.coop.example',
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`GHOST_URL must start with http:// or https://, got ${parsed.protocol}//.`, 'Set GHOST_URL to the address of the Ghost site, e.g. https://news.coop.example');
  }
  if (parsed.search || parsed.hash) {
    throw new ConfigError('GHOST_URL must not have a query string or #fragment.', 'Set GHOST_URL to the address of the Ghost site, e.g. https://news.coop.example');
  }
  // Ghost may live in a subdirectory (https://coop.example/blog); API paths are relative to it.
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed;
}

export function createTransport(opts: {
  url: string;
  setting: GhostKeySetting;
  secrets: readonly string[];
  fetch?: typeof fetch;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}): GhostTransport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retries = opts.retries ?? 3;
  const backoffMs = opts.backoffMs ?? 250;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries must be a whole number >= 0, got ${retries}`);
  if (!(backoffMs >= 0)) throw new RangeError(`backoffMs must be >= 0, got ${backoffMs}`);
  return {
    base: parseGhostUrl(opts.url),
    setting: opts.setting,
    fetch: opts.fetch ?? globalThis.fetch,
    timeoutMs,
    retries,
    backoffMs,
    sleep: opts.sleep ?? defaultSleep,
    secrets: opts.secrets.filter((s) => s.length >= 4),
  };
}

/** The site address for messages: no credentials, no query. */
export function siteLabel(t: GhostTransport): string {
  return `${t.base.origin}${t.base.pathname}`;
}

/** `GET /ghost/api/content/posts/`: method and path, never the query (it may carry the key). */
export function endpointOf(t: GhostTransport, method: string, path: string): string {
  return `${method} ${new URL(path, t.base).pathname}`;
}

/** A failed attempt: the error to raise if it is the last one, and whether another try may help. */
interface Failure {
  readonly error: GhostApiError;
  readonly retry: boolean;
  /** Wait before the next attempt instead of the backoff (Retry-After). */
  readonly waitMs?: number;
}

/**
 * Sends a request, retrying network errors, timeouts, 5xx and 429 with exponential backoff
 * (`backoffMs`, then twice that, ...). 2xx answers come back parsed; everything else throws a
 * GhostApiError.
 */
export async function send(t: GhostTransport, req: GhostRequest): Promise<GhostAnswer> {
  const url = new URL(req.path, t.base);
  for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
  // URLSearchParams writes spaces as "+"; %20 is unambiguous for every server in between.
  url.search = url.search.replace(/\+/g, '%20');
  const endpoint = `${req.method} ${url.pathname}`;
  const maxAttempts = t.retries + 1;

  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(t, req, url, endpoint, attempt);
    if (!('error' in outcome)) return outcome;
    if (!outcome.retry || attempt >= maxAttempts) throw outcome.error;
    await t.sleep(outcome.waitMs ?? t.backoffMs * 2 ** (attempt - 1));
  }
}

async function attemptOnce(
  t: GhostTransport,
  req: GhostRequest,
  url: URL,
  endpoint: string,
  attempt: number,
): Promise<GhostAnswer | Failure> {
  const site = siteLabel(t);
  const fail = (kind: GhostApiErrorKind, message: string, hint: string, extra: { status?: number; cause?: unknown; problems?: string[] } = {}) =>
    new GhostApiError({ kind, message: redact(t, message), hint, endpoint, attempts: attempt, ...extra });
  const attemptsText = attempt === 1 ? '' : ` (${attempt} attempts)`;

  // One deadline covers the whole exchange, body included: a server that sends headers and
  // then stalls must time out too.
  const signal = AbortSignal.timeout(t.timeoutMs);
  const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Version': 'v6.0', ...req.headers?.() };
  let body: string | undefined;
  if (req.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(req.body);
  }

  const timedOut = (): Failure => ({
    // A write that timed out may still have been carried out.
    retry: req.idempotent,
    error: fail(
      'timeout',
      `Ghost at ${site} did not answer ${endpoint} within ${t.timeoutMs} ms${attemptsText}.`,
      'Check that Ghost is running and not overloaded; raise the timeout if the site is just slow.',
    ),
  });
  const networkFailed = (cause: unknown, sent: boolean): Failure => {
    const code = errorCode(cause);
    return {
      retry: req.idempotent || (!sent && code !== undefined && notSentCodes.has(code)),
      error: fail(
        'network',
        `Could not reach Ghost at ${site} for ${endpoint}: ${code ?? describeCause(cause)}${attemptsText}.`,
        'Check GHOST_URL and that Ghost is running and reachable from this machine.',
        { cause },
      ),
    };
  };

  let res: Response;
  try {
    res = await t.fetch(url, {
      method: req.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal,
      // fetch turns a redirected POST into a GET; for writes we want to see the redirect.
      redirect: req.method === 'GET' ? 'follow' : 'manual',
    });
  } catch (cause) {
    if (signal.aborted) return timedOut();
    return networkFailed(cause, false);
  }

  let text: string;
  try {
    text = await res.text();
  } catch (cause) {
    if (signal.aborted) return timedOut();
    return networkFailed(cause, true);
  }

  const status = res.status;
  if (status >= 200 && status < 300) {
    if (text.trim() === '') return { status, body: undefined };
    try {
      return { status, body: JSON.parse(text) as unknown };
    } catch (cause) {
      return {
        retry: false,
        error: fail(
          'malformed',
          `Ghost at ${site} answered ${endpoint} with something that is not JSON (${describeContentType(res)}).`,
          'Check that GHOST_URL is the Ghost site itself and not a proxy or login page in front of it.',
          { status, cause },
        ),
      };
    }
  }

  const ghostMessage = ghostErrorMessage(text);
  const said = ghostMessage ? `: ${ghostMessage}` : '';

  if (status >= 300 && status < 400) {
    const location = res.headers.get('location');
    return {
      retry: false,
      error: fail(
        'not-found',
        `GHOST_URL (${site}) redirects ${endpoint} to ${location ? stripQuery(location) : 'another address'}, so it is not the address Ghost is configured with.`,
        'Set GHOST_URL to the exact address Ghost uses (check http vs https, www, and any subdirectory).',
        { status },
      ),
    };
  }
  if (status === 401 || status === 403) {
    const which = t.setting === 'GHOST_CONTENT_KEY' ? 'Content API key' : 'Admin API key';
    return {
      retry: false,
      error: fail(
        'unauthorized',
        `Ghost at ${site} rejected the ${which} (HTTP ${status} for ${endpoint}${said}). Check ${t.setting}.`,
        `Copy the ${which} from Ghost Admin → Settings → Integrations → your custom integration into ${t.setting}.`,
        { status },
      ),
    };
  }
  if (status === 404) {
    if (req.ghost404IsAnswer && ghostMessage !== undefined) return { status, body: safeJson(text) };
    return {
      retry: false,
      error: fail(
        'not-found',
        `GHOST_URL (${site}) does not look like a Ghost site: ${endpoint} answered 404.`,
        'Set GHOST_URL to the address you open Ghost Admin from, without /ghost/ (include the subdirectory if Ghost runs in one).',
        { status },
      ),
    };
  }
  if (status === 429) {
    const waitMs = retryAfterMs(res.headers.get('retry-after'));
    const tooLong = waitMs !== undefined && waitMs > maxRetryAfterMs;
    return {
      retry: !tooLong,
      ...(waitMs === undefined ? {} : { waitMs }),
      error: fail(
        'server',
        `Ghost at ${site} kept refusing ${endpoint} with 429 Too Many Requests${tooLong ? ` and asked us to wait ${Math.round(waitMs / 1000)} s` : ''}${attemptsText}.`,
        'Ghost is rate-limiting this client; try again later or sync less often.',
        { status },
      ),
    };
  }
  if (status >= 400 && status < 500) {
    return {
      retry: false,
      error: fail('rejected', `Ghost at ${site} refused ${endpoint} (HTTP ${status}${said}).`, 'Read Ghost\'s reason above; this usually needs a change in the request or in Ghost.', { status }),
    };
  }
  return {
    retry: req.idempotent,
    error: fail(
      'server',
      `Ghost at ${site} failed on ${endpoint} (HTTP ${status}${said})${attemptsText}.`,
      'Ghost or a proxy in front of it is failing; check its logs and try again.',
      { status },
    ),
  };
}

/**
 * Validates `body` with `schema`, or throws a `malformed` GhostApiError that names the bad
 * fields (`posts[3].slug: ...`).
 */
export function parseAnswer<S extends z.ZodType>(
  t: GhostTransport,
  schema: S,
  body: unknown,
  where: { endpoint: string; page?: number },
): z.output<S> {
  const parsed = parseWithFriendlyErrors(schema, body);
  if (parsed.ok) return parsed.value;
  const problems = parsed.problems;
  const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
  throw new GhostApiError({
    kind: 'malformed',
    message: redact(
      t,
      `Ghost at ${siteLabel(t)} answered ${where.endpoint}${where.page ? ` (page ${where.page})` : ''} with data we cannot use: ${shown}.`,
    ),
    hint: 'Check that GHOST_URL points to a Ghost 6 site; if it does, this is a bug in Rose Ash: please report it with the field named above.',
    endpoint: where.endpoint,
    attempts: 1,
    problems,
  });
}

function redact(t: GhostTransport, text: string): string {
  let out = text;
  for (const secret of t.secrets) out = out.split(secret).join('****');
  return out;
}

/** Ghost's own reason from `{"errors":[{"message": ...}]}`, shortened; undefined if the body is not that. */
function ghostErrorMessage(text: string): string | undefined {
  const json = safeJson(text);
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { errors?: unknown }).errors)) return undefined;
  const first = (json as { errors: unknown[] }).errors[0];
  if (typeof first !== 'object' || first === null) return '';
  const { message, context } = first as { message?: unknown; context?: unknown };
  const parts = [message, context].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  const joined = parts.join(' ');
  return joined.length > 300 ? `${joined.slice(0, 297)}...` : joined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function errorCode(error: unknown): string | undefined {
  // undici wraps the socket error: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }).
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function describeCause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeContentType(res: Response): string {
  const type = res.headers.get('content-type');
  return type ? `content-type ${type.split(';')[0]}` : 'no content-type';
}

function stripQuery(location: string): string {
  return location.split(/[?#]/)[0] ?? location;
}
