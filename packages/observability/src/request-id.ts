import { randomUUID } from 'node:crypto';

/** The header a request id travels in, to us from the front proxy (Caddy) and back to the client. */
export const requestIdHeader = 'x-request-id';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A request id as received, if it is one we accept: 1-128 characters of letters, digits,
 * `.`, `_`, `:` and `-` (a UUID, Caddy's `{http.request.uuid}`, most tracers' ids). Anything
 * else — empty, too long, spaces, quotes, newlines, several values — is not used.
 *
 * @example
 * parseRequestId('3f2c0a9e-5d1b-4c8e-9f00-1a2b3c4d5e6f') // the same string
 * parseRequestId('a b') // undefined
 */
export function parseRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && requestIdPattern.test(value) ? value : undefined;
}

/**
 * The id of a request: the one a trusted proxy sent (when valid), otherwise a new one. An id
 * from anyone else is replaced, so a client cannot plant ids in our logs.
 *
 * @example
 * requestIdFor(req.headers['x-request-id'], isTrustedProxy(config.trustedProxies, req.socket.remoteAddress))
 */
export function requestIdFor(header: string | string[] | undefined, fromTrustedProxy: boolean, generate: () => string = randomUUID): string {
  return (fromTrustedProxy ? parseRequestId(header) : undefined) ?? generate();
}
