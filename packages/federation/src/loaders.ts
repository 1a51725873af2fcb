import { getAuthenticatedDocumentLoader, kvCache, type KvStore } from '@fedify/fedify';
import { getDocumentLoader, type AuthenticatedDocumentLoaderFactory, type DocumentLoader, type DocumentLoaderFactory } from '@fedify/vocab-runtime';

/** How long one fetch of a remote document (an actor, a key, an object) may take. */
export const fetchTimeoutMs = 10_000;

/** A loader whose every fetch gives up after `timeoutMs` (Fedify's own have no limit). */
export function withTimeout(loader: DocumentLoader, timeoutMs = fetchTimeoutMs): DocumentLoader {
  return (url, options) => {
    const limit = AbortSignal.timeout(timeoutMs);
    return loader(url, { ...options, signal: options?.signal ? AbortSignal.any([options.signal, limit]) : limit });
  };
}

/**
 * Fedify's loaders (cached in its key–value store as its built-in ones are) with a time
 * limit: a server that never answers cannot hold an inbox request or a worker for minutes.
 * Fedify refuses custom loaders together with `allowPrivateAddress` (tests), which keep its own.
 */
export function timedLoaderFactories(kv: KvStore, userAgent: string, timeoutMs = fetchTimeoutMs): { documentLoaderFactory: DocumentLoaderFactory; contextLoaderFactory: DocumentLoaderFactory; authenticatedDocumentLoaderFactory: AuthenticatedDocumentLoaderFactory } {
  const factory =
    (kind: 'object' | 'context'): DocumentLoaderFactory =>
    (opts) =>
      kvCache({ loader: withTimeout(getDocumentLoader({ allowPrivateAddress: opts?.allowPrivateAddress ?? false, userAgent: opts?.userAgent ?? userAgent }), timeoutMs), kv, prefix: ['_fedify', 'remoteDocument'], ...({ kind } as object) });
  return {
    documentLoaderFactory: factory('object'),
    contextLoaderFactory: factory('context'),
    authenticatedDocumentLoaderFactory: (identity, opts) => withTimeout(getAuthenticatedDocumentLoader(identity, { allowPrivateAddress: opts?.allowPrivateAddress ?? false, userAgent: opts?.userAgent ?? userAgent }), timeoutMs),
  };
}
