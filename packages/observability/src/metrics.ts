import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { routeGroups, type RouteGroup } from './route-group.ts';

/** Why a sign-in failed: a fixed set, so the label stays bounded. */
export const loginFailureReasons = ['invalid-credentials', 'email-not-verified', 'rate-limited'] as const;
export type LoginFailureReason = (typeof loginFailureReasons)[number];

/** The outbox as counted at scrape time (`@rose/jobs` `countJobs`, `oldestPendingJob`). */
export interface OutboxDepth {
  /** Due now, or retrying after a failure: the backlog. */
  pending: number;
  /** Queued for later and never tried (not a backlog). */
  scheduled: number;
  running: number;
  failed: number;
  /** How long the longest-waiting ready job has been due, in seconds; 0 with none. */
  oldestPendingSeconds: number;
}

/** The release this process serves, as its manifest (`release.json`) describes it. */
export interface ServedReleaseInfo {
  id: string;
  /** How long the build that made it took (seconds), and what kind of build it was. */
  buildSeconds?: number;
  buildKind?: string;
}

/**
 * Deploys of one target with one result, as recorded in the `deploys` table by `rose deploy`
 * (another process): how many, and the duration and end of the latest.
 */
export interface DeploySummary {
  target: string;
  result: string;
  count: number;
  lastDurationSeconds: number;
  lastFinishedAt: Date;
}

/** What is read at scrape time, from the database or the process; each may be unset. */
export interface MetricsSources {
  outbox?: () => Promise<OutboxDepth>;
  servedRelease?: () => Promise<ServedReleaseInfo | undefined>;
  deploys?: () => Promise<readonly DeploySummary[]>;
}

export interface Metrics {
  /** One answered HTTP request: its route group, status and duration in seconds. */
  observeRequest(group: RouteGroup, status: number, seconds: number): void;
  /** A server-island fragment looked up in the cache (a miss renders it). */
  islandLookup(component: string, hit: boolean): void;
  loginFailed(reason: LoginFailureReason): void;
  /** A site build finished in this process (`ok`) or failed. */
  buildFinished(kind: 'full' | 'targeted', result: 'ok' | 'failed', seconds: number): void;
  /** Sets (or replaces) a scrape-time source. */
  setSource<K extends keyof MetricsSources>(name: K, source: MetricsSources[K]): void;
  /** The exposition in Prometheus' text format. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * This process's metrics in their own registry (not prom-client's global one, so tests and
 * several services in one process do not share counts). Process metrics (CPU, memory, event
 * loop, GC) start with the first scrape. Names are `rose_…`; labels are bounded sets only.
 *
 * @example
 * const metrics = createMetrics({ outbox: () => outboxDepth(db) });
 * metrics.observeRequest('blog', 200, 0.012);
 * const { contentType, body } = await metrics.scrape();
 */
export function createMetrics(initial: MetricsSources = {}): Metrics {
  const registry = new Registry();
  const sources: MetricsSources = { ...initial };
  const sourceUp = new Gauge({ name: 'rose_metrics_source_up', help: 'Whether a scrape-time source answered (1) or failed (0) in this scrape.', labelNames: ['source'], registers: [registry] });
  // A source that fails leaves its gauges empty for this scrape and says so; the rest still answer.
  const fromSource = async <T>(name: keyof MetricsSources, read: (() => Promise<T>) | undefined, gauges: Gauge[], apply: (value: T) => void) => {
    for (const gauge of gauges) gauge.reset();
    if (!read) return;
    try {
      apply(await read());
      sourceUp.set({ source: name }, 1);
    } catch {
      sourceUp.set({ source: name }, 0);
    }
  };

  const requests = createRequestHistogram(registry);

  const islands = new Counter({
    name: 'rose_island_cache_lookups_total',
    help: 'Server-island fragments looked up in the fragment cache, by component and result (hit or miss); the hit ratio is hit / (hit + miss). Fragments private to a visitor are never cached and not counted.',
    labelNames: ['component', 'result'],
    registers: [registry],
  });
  const loginFailures = new Counter({ name: 'rose_login_failures_total', help: 'Failed sign-ins, by reason.', labelNames: ['reason'], registers: [registry] });
  for (const reason of loginFailureReasons) loginFailures.inc({ reason }, 0);
  const builds = new Histogram({
    name: 'rose_build_duration_seconds',
    help: 'Site builds run by this process (rebuilds by its outbox worker), by kind (full or targeted) and result.',
    labelNames: ['kind', 'result'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });

  const outbox = new Gauge({
    name: 'rose_outbox_jobs',
    help: 'Outbox jobs by state: pending (due or retrying: the backlog), scheduled (queued for later), running, failed (out of attempts).',
    labelNames: ['state'],
    registers: [registry],
  });
  const oldest = new Gauge({ name: 'rose_outbox_oldest_pending_age_seconds', help: 'How long the longest-waiting ready outbox job has been due (0: none waiting).', registers: [registry] });
  const release = new Gauge({
    name: 'rose_served_release_info',
    help: 'The release this process serves (value 1), by id.',
    labelNames: ['release'],
    registers: [registry],
  });
  const releaseBuild = new Gauge({ name: 'rose_served_release_build_seconds', help: 'How long the build of the served release took, from its manifest, by build kind.', labelNames: ['kind'], registers: [registry] });
  const deployCount = new Gauge({ name: 'rose_deploys', help: 'Deploys recorded per target and result (from the deploys table).', labelNames: ['target', 'result'], registers: [registry] });
  const deployDuration = new Gauge({ name: 'rose_deploy_last_duration_seconds', help: 'Duration of the latest deploy per target and result.', labelNames: ['target', 'result'], registers: [registry] });
  const deployFinished = new Gauge({ name: 'rose_deploy_last_finished_timestamp_seconds', help: 'When the latest deploy per target and result finished (Unix time).', labelNames: ['target', 'result'], registers: [registry] });

  let processMetrics = false;
  let scraping: Promise<unknown> = Promise.resolve();
  const collect = async () => {
    if (!processMetrics) {
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    }
    await Promise.all([
      fromSource('outbox', sources.outbox, [outbox, oldest], (depth) => {
        for (const state of ['pending', 'scheduled', 'running', 'failed'] as const) outbox.set({ state }, depth[state]);
        oldest.set(depth.oldestPendingSeconds);
      }),
      fromSource('servedRelease', sources.servedRelease, [release, releaseBuild], (served) => {
        if (!served) return;
        release.set({ release: served.id }, 1);
        if (served.buildSeconds !== undefined) releaseBuild.set({ kind: served.buildKind ?? 'unknown' }, served.buildSeconds);
      }),
      fromSource('deploys', sources.deploys, [deployCount, deployDuration, deployFinished], (summaries) => {
        for (const d of summaries) {
          const labels = { target: d.target, result: d.result };
          deployCount.set(labels, d.count);
          deployDuration.set(labels, d.lastDurationSeconds);
          deployFinished.set(labels, d.lastFinishedAt.getTime() / 1000);
        }
      }),
    ]);
  };

  return {
    observeRequest: requests.observe,
    islandLookup(component, hit) {
      islands.inc({ component, result: hit ? 'hit' : 'miss' });
    },
    loginFailed(reason) {
      loginFailures.inc({ reason });
    },
    buildFinished(kind, result, seconds) {
      builds.observe({ kind, result }, seconds);
    },
    setSource(name, source) {
      sources[name] = source;
    },
    scrape() {
      // One scrape at a time: each resets and refills the scrape-time gauges.
      const run = scraping.then(async () => {
        await collect();
        return { contentType: registry.contentType, body: await registry.metrics() };
      });
      scraping = run.catch(() => undefined);
      return run;
    },
  };
}

const requestBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * `rose_http_request_duration_seconds{group,status}`, kept in plain arrays: it is observed on
 * every static file, and prom-client's Histogram spends over a microsecond per observation
 * (label objects, validation, a key string) where this spends a few dozen nanoseconds. The
 * exposition is the same as a prom-client histogram's.
 */
function createRequestHistogram(registry: Registry) {
  const name = 'rose_http_request_duration_seconds';
  const series = routeGroups.flatMap((group) => statusClasses.map((status) => ({ labels: { group, status }, buckets: new Float64Array(requestBuckets.length + 1), sum: 0, count: 0 })));
  const groupIndex = new Map<RouteGroup, number>(routeGroups.map((group, i) => [group, i * statusClasses.length]));
  const metric = {
    name,
    help: 'Time to answer an HTTP request, by route group (static files, server islands, sign-in, account, API, market, blog, other) and status class.',
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({
      name: metric.name,
      help: metric.help,
      type: metric.type,
      aggregator: metric.aggregator,
      values: series
        .filter((s) => s.count > 0)
        .flatMap((s) => {
          let cumulative = 0;
          const buckets = requestBuckets.map((le, i) => ({ labels: { le }, sharedLabels: s.labels, value: (cumulative += s.buckets[i]!), metricName: `${name}_bucket` }));
          return [
            ...buckets,
            { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` },
            { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` },
            { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` },
          ];
        }),
    }),
  };
  // The registry only calls `get()` on what it exposes; this is a Metric in all but class.
  registry.registerMetric(metric as unknown as Metric);
  return {
    observe(group: RouteGroup, status: number, seconds: number): void {
      const cls = status < 200 ? 0 : status >= 500 ? 4 : ((status / 100) | 0) - 1;
      const s = series[groupIndex.get(group)! + cls]!;
      let i = 0;
      while (i < requestBuckets.length && seconds > requestBuckets[i]!) i++;
      s.buckets[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}
