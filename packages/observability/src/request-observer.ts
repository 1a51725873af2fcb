import type { IncomingMessage, ServerResponse } from 'node:http';
import { runWithLogContext } from './context.ts';
import type { Metrics } from './metrics.ts';
import { parseRequestId, requestIdFor, requestIdHeader } from './request-id.ts';
import { routeGroupOf } from './route-group.ts';

/** The part of a pino logger the observer uses. */
export interface RequestLogger {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  isLevelEnabled(level: string): boolean;
}

export interface RequestObserver {
  /**
   * Runs a dynamic request (anything the release's files did not answer): gives it an id
   * (a trusted proxy's `X-Request-Id`, or a new one), echoes the id on the response, runs
   * `handle` with the id as the log context, and when the response closes, logs one line
   * (method, path, route group, status, ms) at info and observes its duration.
   */
  dynamic(req: IncomingMessage, res: ServerResponse, handle: () => void): void;
  /**
   * After the static handler answered `req` (started at `startedMs`, `performance.now()`):
   * observes its duration as the `static` group. It logs only at debug level (with the
   * proxy's request id, if any; none is made or echoed): static files are the hot path.
   */
  served(req: IncomingMessage, res: ServerResponse, startedMs: number): void;
}

/**
 * What `rose serve` does around every request for logs and metrics.
 *
 * @example
 * const observe = createRequestObserver({ logger, metrics, isTrustedProxy });
 * http.createServer((req, res) => {
 *   const started = performance.now();
 *   if (statics.handle(req, res)) return observe.served(req, res, started);
 *   observe.dynamic(req, res, () => app(req, res));
 * });
 */
export function createRequestObserver(deps: { logger: RequestLogger; metrics: Metrics; isTrustedProxy: (address: string | undefined) => boolean }): RequestObserver {
  const { logger, metrics } = deps;
  // Read once: a static request must not pay for asking.
  const debugStatic = logger.isLevelEnabled('debug');
  const pathOf = (req: IncomingMessage) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    // Never the query: it may hold a token (verification and reset links).
    return q === -1 ? url : url.slice(0, q);
  };
  const idOf = (req: IncomingMessage) => requestIdFor(req.headers[requestIdHeader], deps.isTrustedProxy(req.socket.remoteAddress));

  function staticDone(this: ServerResponse, startedMs: number) {
    metrics.observeRequest('static', this.statusCode, (performance.now() - startedMs) / 1000);
  }

  return {
    dynamic(req, res, handle) {
      const started = performance.now();
      const reqId = idOf(req);
      res.setHeader('X-Request-Id', reqId);
      res.once('close', () => {
        const ms = performance.now() - started;
        const group = routeGroupOf(req.url ?? '/');
        metrics.observeRequest(group, res.statusCode, ms / 1000);
        logger.info({ reqId, method: req.method, path: pathOf(req), group, status: res.statusCode, ms: Math.round(ms * 10) / 10, ...(res.writableFinished ? {} : { aborted: true }) }, 'request');
      });
      runWithLogContext({ reqId }, handle);
    },
    served(req, res, startedMs) {
      if (debugStatic) {
        // The proxy's id when it sent one (its own log has the same); none is made up here.
        const reqId = deps.isTrustedProxy(req.socket.remoteAddress) ? parseRequestId(req.headers[requestIdHeader]) : undefined;
        const log = () => {
          const ms = performance.now() - startedMs;
          metrics.observeRequest('static', res.statusCode, ms / 1000);
          logger.debug({ ...(reqId ? { reqId } : {}), method: req.method, path: pathOf(req), group: 'static', status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
        };
        if (res.writableEnded) log();
        else res.once('finish', log);
        return;
      }
      // Most files are answered from memory before `handle` returns: no listener needed.
      if (res.writableEnded) staticDone.call(res, startedMs);
      else res.once('finish', () => staticDone.call(res, startedMs));
    },
  };
}
