import type { z } from 'zod';
import { ConfigError, parseWithFriendlyErrors } from '@rose/core';
import { createHttpClient, HttpError, redactText, type HttpClient, type HttpResponse } from '@rose/http';
import { GhostApiError, type GhostApiErrorKind, type GhostKeySetting } from './ghost-api.error.ts';

/** The shared transport of both clients: @rose/http underneath, Ghost's answers turned into GhostApiErrors. */
export interface GhostTransport {
  /** Site address as given, e.g. `https://coop.example/blog/`; always ends in `/`. */
  readonly base: URL;
  readonly setting: GhostKeySetting;
  readonly http: HttpClient;
  readonly timeoutMs: number;
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

/** Ghost may ask us to wait (429 Retry-After); beyond this we give up rather than stall a sync. */
const maxRetryAfterMs = 60_000;

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
  deadlineMs?: number;
  retries?: number;
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}): GhostTransport {
  const base = parseGhostUrl(opts.url);
  const secrets = opts.secrets.filter((s) => s.length >= 4);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const http = createHttpClient({
    service: 'Ghost',
    baseUrl: base,
    urlSetting: 'GHOST_URL',
    credentialsSetting: opts.setting,
    headers: { Accept: 'application/json', 'Accept-Version': 'v6.0' },
    secrets,
    attemptTimeoutMs: timeoutMs,
    ...(opts.deadlineMs === undefined ? {} : { deadlineMs: opts.deadlineMs }),
    ...(opts.retries === undefined ? {} : { retries: opts.retries }),
    ...(opts.backoffMs === undefined ? {} : { backoffMs: opts.backoffMs }),
    maxRetryAfterMs,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  return { base, setting: opts.setting, http, timeoutMs, secrets };
}

/** The site address for messages: no credentials, no query. */
export function siteLabel(t: GhostTransport): string {
  return `${t.base.origin}${t.base.pathname}`;
}

/** `GET /ghost/api/content/posts/`: method and path, never the query (it may carry the key). */
export function endpointOf(t: GhostTransport, method: string, path: string): string {
  return `${method} ${new URL(path, t.base).pathname}`;
}

/**
 * Sends a request through @rose/http (deadlines, retries of network errors, timeouts, 5xx and
 * 429 with back-off, Retry-After, redaction). 2xx answers come back parsed; everything else
 * throws a GhostApiError in Ghost's terms.
 */
export async function send(t: GhostTransport, req: GhostRequest): Promise<GhostAnswer> {
  const endpoint = endpointOf(t, req.method, req.path);
  const site = siteLabel(t);
  const fail = (kind: GhostApiErrorKind, message: string, hint: string, extra: { status?: number | undefined; cause?: unknown; attempts?: number } = {}) =>
    new GhostApiError({ kind, message: redact(t, message), hint, endpoint, attempts: extra.attempts ?? 1, ...(extra.status === undefined ? {} : { status: extra.status }), ...(extra.cause === undefined ? {} : { cause: extra.cause }) });

  let res: HttpResponse;
  try {
    res = await t.http.request({
      method: req.method,
      url: req.path,
      ...(req.query ? { query: req.query } : {}),
      ...(req.headers ? { headers: req.headers } : {}),
      ...(req.body === undefined ? {} : { json: req.body }),
      idempotent: req.idempotent,
      ...(req.ghost404IsAnswer ? { accept: (status: number) => (status >= 200 && status < 300) || status === 404 } : {}),
    });
  } catch (error) {
    if (error instanceof HttpError) throw toGhostError(t, error, endpoint);
    throw error;
  }

  if (res.status === 404) {
    // Only reached with ghost404IsAnswer: Ghost's own "not found" is an answer; anything else
    // answering 404 means GHOST_URL is not Ghost.
    if (ghostErrorMessage(res.body) !== undefined) return { status: res.status, body: safeJson(res.body) };
    throw fail('not-found', `GHOST_URL (${site}) does not look like a Ghost site: ${endpoint} answered 404.`, notGhostHint, { status: 404, attempts: res.attempts });
  }
  if (res.body.trim() === '') return { status: res.status, body: undefined };
  try {
    return { status: res.status, body: JSON.parse(res.body) as unknown };
  } catch (cause) {
    const type = res.headers.get('content-type');
    throw fail(
      'malformed',
      `Ghost at ${site} answered ${endpoint} with something that is not JSON (${type ? `content-type ${type.split(';')[0]}` : 'no content-type'}).`,
      'Check that GHOST_URL is the Ghost site itself and not a proxy or login page in front of it.',
      { status: res.status, cause, attempts: res.attempts },
    );
  }
}

const notGhostHint = 'Set GHOST_URL to the address you open Ghost Admin from, without /ghost/ (include the subdirectory if Ghost runs in one).';

/** The transport's failure in Ghost's words: which setting to fix, and what Ghost itself said. */
function toGhostError(t: GhostTransport, e: HttpError, endpoint: string): GhostApiError {
  const site = siteLabel(t);
  const attemptsText = e.attempts === 1 ? '' : ` (${e.attempts} attempts)`;
  const error = (kind: GhostApiErrorKind, message: string, hint: string) =>
    new GhostApiError({ kind, message: redact(t, message), hint, endpoint, attempts: e.attempts, ...(e.status === undefined ? {} : { status: e.status }), cause: e });
  switch (e.kind) {
    case 'timeout':
      return error(
        'timeout',
        `Ghost at ${site} did not answer ${endpoint} within ${e.limitMs ?? t.timeoutMs} ms${attemptsText}.`,
        'Check that Ghost is running and not overloaded; raise the timeout if the site is just slow.',
      );
    case 'deadline':
      return error(
        'timeout',
        `Ghost at ${site} did not answer ${endpoint}${e.status === undefined ? '' : ' successfully'} within the ${e.limitMs} ms deadline${attemptsText}${e.status === undefined ? '' : ` (last answer: HTTP ${e.status})`}.`,
        'Check that Ghost is running and not overloaded; try again later.',
      );
    case 'network':
      return error(
        'network',
        `Could not reach Ghost at ${site} for ${endpoint}: ${e.networkCode ?? describeCause(e.cause)}${attemptsText}.`,
        'Check GHOST_URL and that Ghost is running and reachable from this machine.',
      );
    case 'too-large':
    case 'malformed':
      return error('malformed', `Ghost at ${site} answered ${endpoint} with something we cannot use: ${e.message}`, 'Check that GHOST_URL is the Ghost site itself and not a proxy or login page in front of it.');
    case 'aborted':
      return error('network', `The request ${endpoint} to Ghost at ${site} was cancelled.`, 'Nothing to fix: it was cancelled on purpose.');
    case 'status':
      break;
  }
  const status = e.status ?? 0;
  const ghostMessage = ghostErrorMessage(e.body ?? '');
  const said = ghostMessage ? `: ${ghostMessage}` : '';
  if (status >= 300 && status < 400) {
    return error(
      'not-found',
      `GHOST_URL (${site}) redirects ${endpoint} to ${e.location ?? 'another address'}, so it is not the address Ghost is configured with.`,
      'Set GHOST_URL to the exact address Ghost uses (check http vs https, www, and any subdirectory).',
    );
  }
  if (status === 401 || status === 403) {
    const which = t.setting === 'GHOST_CONTENT_KEY' ? 'Content API key' : 'Admin API key';
    return error(
      'unauthorized',
      `Ghost at ${site} rejected the ${which} (HTTP ${status} for ${endpoint}${said}). Check ${t.setting}.`,
      `Copy the ${which} from Ghost Admin → Settings → Integrations → your custom integration into ${t.setting}.`,
    );
  }
  if (status === 404) return error('not-found', `GHOST_URL (${site}) does not look like a Ghost site: ${endpoint} answered 404.`, notGhostHint);
  if (status === 429) {
    const tooLong = e.retryAfterMs !== undefined && e.retryAfterMs > maxRetryAfterMs;
    return error(
      'server',
      `Ghost at ${site} kept refusing ${endpoint} with 429 Too Many Requests${tooLong ? ` and asked us to wait ${Math.round(e.retryAfterMs! / 1000)} s` : ''}${attemptsText}.`,
      'Ghost is rate-limiting this client; try again later or sync less often.',
    );
  }
  if (status >= 400 && status < 500) {
    return error('rejected', `Ghost at ${site} refused ${endpoint} (HTTP ${status}${said}).`, 'Read Ghost\'s reason above; this usually needs a change in the request or in Ghost.');
  }
  return error('server', `Ghost at ${site} failed on ${endpoint} (HTTP ${status}${said})${attemptsText}.`, 'Ghost or a proxy in front of it is failing; check its logs and try again.');
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
  return redactText(text, t.secrets);
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

function describeCause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


