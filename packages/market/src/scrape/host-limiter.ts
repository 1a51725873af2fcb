import { abortableSleep } from '@rose/http';
export interface HostLimiterOptions {
  /** Least time between the starts of two requests to one host. Default 1000; 0 turns it off (benchmarks). */
  readonly rateLimitMs?: number;
  /** Requests in flight to one host at once. Default 2. */
  readonly perHostConcurrency?: number;
  /** Requests in flight at once, all hosts together. Default 4. */
  readonly globalConcurrency?: number;
  /** Milliseconds since some fixed point (Date.now); tests pass a clock that `sleep` moves. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface HostLimiter {
  /**
   * Runs `task` when `host` may take another request: a free slot for the host and overall,
   * and at least the host's interval since the previous request to it started.
   */
  run<T>(host: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** A site's robots.txt Crawl-delay: raises the host's interval to it (never lowers it). */
  setCrawlDelay(host: string, ms: number): void;
  /** The least time between request starts to `host`. */
  intervalFor(host: string): number;
}

/**
 * Politeness for a crawl: per host, a least interval between request starts (raised by
 * Crawl-delay) and a cap on requests in flight; overall, a cap on requests in flight. A host
 * waiting out its interval does not hold an overall slot, so one slow site does not stall the
 * others.
 *
 * @example
 * const limiter = createHostLimiter({ rateLimitMs: 1000 });
 * const page = await limiter.run(url.host, () => fetcher.fetchText({ url, … }));
 */
export function createHostLimiter(options: HostLimiterOptions = {}): HostLimiter {
  const rateLimitMs = options.rateLimitMs ?? 1000;
  const perHost = options.perHostConcurrency ?? 2;
  const overall = options.globalConcurrency ?? 4;
  if (!(rateLimitMs >= 0)) throw new RangeError(`rateLimitMs must be >= 0, got ${rateLimitMs}`);
  if (!(Number.isInteger(perHost) && perHost >= 1)) throw new RangeError(`perHostConcurrency must be a whole number >= 1, got ${perHost}`);
  if (!(Number.isInteger(overall) && overall >= 1)) throw new RangeError(`globalConcurrency must be a whole number >= 1, got ${overall}`);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const globalSlots = createSemaphore(overall);
  const hosts = new Map<string, { slots: Semaphore; gate: Promise<void>; lastStart: number; crawlDelayMs: number }>();
  const stateOf = (host: string) => {
    let h = hosts.get(host);
    if (!h) {
      h = { slots: createSemaphore(perHost), gate: Promise.resolve(), lastStart: Number.NEGATIVE_INFINITY, crawlDelayMs: 0 };
      hosts.set(host, h);
    }
    return h;
  };
  const intervalFor = (host: string) => Math.max(rateLimitMs, hosts.get(host)?.crawlDelayMs ?? 0);

  return {
    intervalFor,
    setCrawlDelay(host, ms) {
      const h = stateOf(host);
      h.crawlDelayMs = Math.max(h.crawlDelayMs, ms);
    },
    async run(host, task, signal) {
      const h = stateOf(host);
      await h.slots.acquire();
      try {
        // Starts to one host are decided one at a time, so two requests never read the same
        // last start and go together.
        const start = h.gate.then(async () => {
          const wait = h.lastStart + intervalFor(host) - now();
          if (wait > 0) await sleep(wait, signal);
          await globalSlots.acquire();
          h.lastStart = now();
        });
        h.gate = start.catch(() => {});
        await start;
        try {
          return await task();
        } finally {
          globalSlots.release();
        }
      } finally {
        h.slots.release();
      }
    },
  };
}

interface Semaphore {
  acquire(): Promise<void>;
  release(): void;
}

function createSemaphore(size: number): Semaphore {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    acquire() {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}
