import { getAuthenticatedDocumentLoader, kvCache, type KvStore } from '@fedify/fedify';
import {
  createActivityPubRequest,
  FetchError,
  getRemoteDocument,
  preloadedContexts,
  validatePublicUrl,
  type AuthenticatedDocumentLoaderFactory,
  type DocumentLoader,
  type DocumentLoaderFactory,
  type RemoteDocument,
} from '@fedify/vocab-runtime';

/** How long one fetch of a remote document (an actor, a key, an object) may take. */
export const fetchTimeoutMs = 10_000;
/** The largest remote document we read (an actor or a post is a few KB; Mastodon's own limit is 1 MB). */
export const maxDocumentBytes = 1024 * 1024;
const maxRedirections = 5;

const limited = (signal: AbortSignal | undefined, timeoutMs: number) => (signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs));

/** A loader whose every fetch gives up after `timeoutMs`. */
export function withTimeout(loader: DocumentLoader, timeoutMs = fetchTimeoutMs): DocumentLoader {
  return (url, options) => loader(url, { ...options, signal: limited(options?.signal, timeoutMs) });
}

/** The body of `response`, refused past `maxBytes` (whatever Content-Length says). */
async function readCapped(url: string, response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchError(url, `The document is larger than ${maxBytes} bytes (${declared}).`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (let part = await reader?.read(); reader && part && !part.done; part = await reader.read()) {
    size += part.value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new FetchError(url, `The document is larger than ${maxBytes} bytes.`);
    }
    chunks.push(part.value);
  }
  return Buffer.concat(chunks);
}

/**
 * Fedify's document loader (the same steps: preloaded contexts, public addresses only,
 * redirects re-checked, JSON-LD or an alternate link), with what it lacks: a time limit and
 * a size limit on each document, so a hostile server can neither hold a request nor fill memory.
 */
export function boundedDocumentLoader(opts: { allowPrivateAddress?: boolean; userAgent: string; timeoutMs?: number; maxBytes?: number }): DocumentLoader {
  const timeoutMs = opts.timeoutMs ?? fetchTimeoutMs;
  const maxBytes = opts.maxBytes ?? maxDocumentBytes;
  const load = async (url: string, signal: AbortSignal | undefined, redirected: number, visited: Set<string>): Promise<RemoteDocument> => {
    signal?.throwIfAborted();
    const currentUrl = new URL(url).href;
    if (currentUrl in preloadedContexts) return { contextUrl: null, document: preloadedContexts[currentUrl], documentUrl: currentUrl };
    if (!opts.allowPrivateAddress) await validatePublicUrl(currentUrl);
    visited.add(currentUrl);
    const response = await fetch(createActivityPubRequest(currentUrl, { userAgent: opts.userAgent }), { redirect: 'manual', signal: limited(signal, timeoutMs) });
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      if (redirected >= maxRedirections) throw new FetchError(currentUrl, `Too many redirections (${redirected + 1})`);
      const next = new URL(location, currentUrl).href;
      if (visited.has(next)) throw new FetchError(currentUrl, `Redirect loop: ${next}`);
      return load(next, signal, redirected + 1, visited);
    }
    const body = await readCapped(currentUrl, response, maxBytes);
    const bounded = new Response(response.status === 204 || response.status === 304 ? null : new Uint8Array(body), { status: response.status, statusText: response.statusText, headers: response.headers });
    Object.defineProperty(bounded, 'url', { value: currentUrl });
    return getRemoteDocument(currentUrl, bounded, (alternate) => load(alternate, signal, redirected + 1, visited));
  };
  return (url, options) => load(url, options?.signal, 0, new Set());
}

/**
 * Fedify's loaders (cached in its key–value store as its built-in ones are) with time and
 * size limits. Fedify refuses custom loaders together with `allowPrivateAddress` (tests), which
 * keep its own.
 */
export function timedLoaderFactories(kv: KvStore, userAgent: string, timeoutMs = fetchTimeoutMs): { documentLoaderFactory: DocumentLoaderFactory; contextLoaderFactory: DocumentLoaderFactory; authenticatedDocumentLoaderFactory: AuthenticatedDocumentLoaderFactory } {
  const factory =
    (kind: 'object' | 'context'): DocumentLoaderFactory =>
    (opts) =>
      kvCache({ loader: boundedDocumentLoader({ allowPrivateAddress: opts?.allowPrivateAddress ?? false, userAgent, timeoutMs }), kv, prefix: ['_fedify', 'remoteDocument'], kind });
  return {
    documentLoaderFactory: factory('object'),
    contextLoaderFactory: factory('context'),
    // Signed fetches (authorized fetch) keep Fedify's loader: time-limited, not size-limited.
    authenticatedDocumentLoaderFactory: (identity, opts) => withTimeout(getAuthenticatedDocumentLoader(identity, { allowPrivateAddress: opts?.allowPrivateAddress ?? false, userAgent }), timeoutMs),
  };
}
