import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while handling one request or job carries: the request id
 * (from the front proxy or made here), and for work done by the outbox worker, the job.
 * Kept in an AsyncLocalStorage, so code far down the call (a service queueing a job, a
 * page logging an error) sees it without it being passed along.
 */
export interface LogContext {
  readonly reqId?: string;
  readonly jobId?: number;
  readonly jobType?: string;
}

const KEY = Symbol.for('rose.log-context');
// One store per process: Astro bundles its own copy of the packages its pages import, and a
// page must see the context `rose serve` set around the request.
const holder = globalThis as { [KEY]?: AsyncLocalStorage<LogContext> };
const store: AsyncLocalStorage<LogContext> = (holder[KEY] ??= new AsyncLocalStorage<LogContext>());

/**
 * Runs `fn` with `context` as the current log context (for everything it awaits, too).
 *
 * @example
 * runWithLogContext({ reqId }, () => handler(req, res));
 */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return store.run(context, fn);
}

/** The current log context, or undefined outside any request or job. */
export function currentLogContext(): LogContext | undefined {
  return store.getStore();
}

/** The id of the request being handled (or that queued the job being run), if any. */
export function currentRequestId(): string | undefined {
  return store.getStore()?.reqId;
}
