import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

/** The value of one sample line of the exposition, e.g. `rose_outbox_jobs{state="pending"}`. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('keeps request latency per route group and status class', async () => {
    const metrics = createMetrics();
    metrics.observeRequest('static', 200, 0.0004);
    metrics.observeRequest('static', 304, 0.0007);
    metrics.observeRequest('island', 200, 0.03);
    metrics.observeRequest('auth', 503, 2);
    metrics.observeRequest('blog', 404, 20);
    metrics.observeRequest('other', 101, 0.001);
    const { body, contentType } = await metrics.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(body, 'rose_http_request_duration_seconds_count{group="static",status="2xx"}')).toBe(1);
    expect(sample(body, 'rose_http_request_duration_seconds_count{group="static",status="3xx"}')).toBe(1);
    expect(sample(body, 'rose_http_request_duration_seconds_bucket{le="0.0005",group="static",status="2xx"}')).toBe(1);
    expect(sample(body, 'rose_http_request_duration_seconds_bucket{le="0.025",group="island",status="2xx"}')).toBe(0);
    expect(sample(body, 'rose_http_request_duration_seconds_bucket{le="0.05",group="island",status="2xx"}')).toBe(1);
    expect(sample(body, 'rose_http_request_duration_seconds_sum{group="auth",status="5xx"}')).toBe(2);
    // Slower than the last bound: only in +Inf.
    expect(sample(body, 'rose_http_request_duration_seconds_bucket{le="10",group="blog",status="4xx"}')).toBe(0);
    expect(sample(body, 'rose_http_request_duration_seconds_bucket{le="+Inf",group="blog",status="4xx"}')).toBe(1);
    expect(sample(body, 'rose_http_request_duration_seconds_bucket{le="0.001",group="other",status="1xx"}')).toBe(1);
    // Label pairs nobody used are not exposed.
    expect(body).not.toContain('group="market"');
    expect(body).toContain('# TYPE rose_http_request_duration_seconds histogram');
    // Process metrics come with the first scrape.
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts island cache hits and misses, login failures (every reason, from 0) and builds', async () => {
    const metrics = createMetrics();
    metrics.islandLookup('market-stock', false);
    metrics.islandLookup('market-stock', true);
    metrics.islandLookup('market-stock', true);
    metrics.loginFailed('invalid-credentials');
    metrics.loginFailed('invalid-credentials');
    metrics.buildFinished('targeted', 'ok', 0.8);
    metrics.buildFinished('full', 'failed', 40);
    const { body } = await metrics.scrape();
    expect(sample(body, 'rose_island_cache_lookups_total{component="market-stock",result="hit"}')).toBe(2);
    expect(sample(body, 'rose_island_cache_lookups_total{component="market-stock",result="miss"}')).toBe(1);
    expect(sample(body, 'rose_login_failures_total{reason="invalid-credentials"}')).toBe(2);
    expect(sample(body, 'rose_login_failures_total{reason="rate-limited"}')).toBe(0);
    expect(sample(body, 'rose_login_failures_total{reason="email-not-verified"}')).toBe(0);
    expect(sample(body, 'rose_build_duration_seconds_count{kind="targeted",result="ok"}')).toBe(1);
    expect(sample(body, 'rose_build_duration_seconds_bucket{le="30",kind="full",result="failed"}')).toBe(0);
    expect(sample(body, 'rose_build_duration_seconds_bucket{le="60",kind="full",result="failed"}')).toBe(1);
  });

  it('reads the outbox, the served release and deploys at scrape time', async () => {
    let pending = 3;
    const metrics = createMetrics({ outbox: async () => ({ pending, scheduled: 1, running: 2, failed: 4, oldestPendingSeconds: 12.5 }) });
    metrics.setSource('servedRelease', async () => ({ id: '20261201T090000000Z-ab12', buildSeconds: 42.1, buildKind: 'full' }));
    metrics.setSource('deploys', async () => [{ target: 'production', result: 'succeeded', count: 7, lastDurationSeconds: 93, lastFinishedAt: new Date('2026-12-01T09:00:00Z') }]);
    let { body } = await metrics.scrape();
    expect(sample(body, 'rose_outbox_jobs{state="pending"}')).toBe(3);
    expect(sample(body, 'rose_outbox_jobs{state="scheduled"}')).toBe(1);
    expect(sample(body, 'rose_outbox_jobs{state="running"}')).toBe(2);
    expect(sample(body, 'rose_outbox_jobs{state="failed"}')).toBe(4);
    expect(sample(body, 'rose_outbox_oldest_pending_age_seconds')).toBe(12.5);
    expect(sample(body, 'rose_served_release_info{release="20261201T090000000Z-ab12"}')).toBe(1);
    expect(sample(body, 'rose_served_release_build_seconds{kind="full"}')).toBe(42.1);
    expect(sample(body, 'rose_deploys{target="production",result="succeeded"}')).toBe(7);
    expect(sample(body, 'rose_deploy_last_duration_seconds{target="production",result="succeeded"}')).toBe(93);
    expect(sample(body, 'rose_deploy_last_finished_timestamp_seconds{target="production",result="succeeded"}')).toBe(Date.parse('2026-12-01T09:00:00Z') / 1000);
    expect(sample(body, 'rose_metrics_source_up{source="outbox"}')).toBe(1);
    pending = 0;
    ({ body } = await metrics.scrape());
    expect(sample(body, 'rose_outbox_jobs{state="pending"}')).toBe(0);
  });

  it('says when a source fails and leaves its gauges empty rather than stale', async () => {
    let down = false;
    const metrics = createMetrics({
      outbox: async () => {
        if (down) throw new Error('database down');
        return { pending: 5, scheduled: 0, running: 0, failed: 0, oldestPendingSeconds: 1 };
      },
    });
    expect(sample((await metrics.scrape()).body, 'rose_outbox_jobs{state="pending"}')).toBe(5);
    down = true;
    const { body } = await metrics.scrape();
    expect(sample(body, 'rose_metrics_source_up{source="outbox"}')).toBe(0);
    expect(sample(body, 'rose_outbox_jobs{state="pending"}')).toBeUndefined();
    expect(body).toContain('rose_http_request_duration_seconds');
  });
});
