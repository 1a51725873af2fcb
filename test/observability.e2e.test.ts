import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPaths } from '@rose/core';
import { copyBuiltSite, freePort, httpRequest, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';

const metricsToken = 'metrics-token-for-the-e2e-test-0123';

// Request ids, logs, readiness and metrics of a real `rose serve` on the built demo site,
// with 127.0.0.1 as its trusted front proxy (what Caddy is in production) and a metrics token.
describe('observability of rose serve', () => {
  let tmp: string;
  let env: Record<string, string>;
  let server: RunningRose;
  let base: string;
  let releaseId: string;

  /** The JSON log lines `rose serve` wrote to stderr so far. */
  const logLines = () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const ready = async (headers: Record<string, string> = {}) => {
    const res = await httpRequest(new URL(linkPaths.api.ready(), base), { headers });
    return { status: res.status, cacheControl: res.headers['cache-control'], text: res.text, body: JSON.parse(res.text) as { status: string; release: string | null; checks: Record<'database' | 'cache' | 'migrations' | 'release', { ok: boolean; detail?: string }> } };
  };
  const withToken = { Authorization: `Bearer ${metricsToken}` };
  const metrics = (headers: Record<string, string> = {}) => httpRequest(new URL(linkPaths.api.metrics(), base), { headers });

  beforeAll(async () => {
    tmp = await makeProjectTempDir('observability');
    const port = await freePort();
    env = {
      ...(await copyBuiltSite(tmp)),
      ROSE_SITE_URL: `http://127.0.0.1:${port}`,
      ROSE_LOG_LEVEL: 'info',
      ROSE_TRUSTED_PROXIES: '127.0.0.1',
      ROSE_METRICS_TOKEN: metricsToken,
    };
    releaseId = path.basename(await fs.readlink(path.join(env.ROSE_DIST_DIR!, 'current')));
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
    base = new URL(server.url).origin;
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine
  afterAll(async () => {
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it("echoes the front proxy's request id, replaces one sent by anyone else, and logs the request with it", async () => {
    const fromProxy = await httpRequest(new URL(linkPaths.api.health(), base), { headers: { 'X-Request-Id': 'caddy-e2e-0001' } });
    expect(fromProxy.status).toBe(200);
    expect(fromProxy.headers['x-request-id']).toBe('caddy-e2e-0001');

    // 127.0.0.2 is another client on loopback, not the trusted proxy.
    const forged = await httpRequest(new URL(linkPaths.api.health(), base), { headers: { 'X-Request-Id': 'forged-by-a-client' }, localAddress: '127.0.0.2' });
    const made = forged.headers['x-request-id'] as string;
    expect(made).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // A malformed id from the trusted proxy is replaced too.
    expect((await httpRequest(new URL(linkPaths.api.health(), base), { headers: { 'X-Request-Id': 'two words' } })).headers['x-request-id']).not.toBe('two words');

    await expect.poll(() => logLines().find((l) => l.reqId === 'caddy-e2e-0001' && l.msg === 'request'), { timeout: 10_000 }).toMatchObject({ method: 'GET', path: linkPaths.api.health(), group: 'api', status: 200, level: 30 });
    await expect.poll(() => logLines().find((l) => l.reqId === made && l.msg === 'request'), { timeout: 10_000 }).toBeDefined();
    expect(server.output()).not.toContain('forged-by-a-client');
  });

  it('a job queued by a request is logged by the worker with the same request id', async () => {
    // Signing up queues the confirmation mail, sent by the outbox worker inside `rose serve`.
    const signup = await httpRequest(new URL(linkPaths.auth.signup(), base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base, 'X-Request-Id': 'signup-req-42' },
      body: new URLSearchParams({ name: 'Olive Grower', email: 'olive@example.org', password: 'Correct-Horse-Battery-42' }).toString(),
    });
    expect(signup.status).toBe(200);
    expect(signup.headers['x-request-id']).toBe('signup-req-42');
    await expect
      .poll(() => logLines().find((l) => l.msg === 'job done' && l.jobType === 'account.mail'), { timeout: 20_000 })
      .toMatchObject({ reqId: 'signup-req-42', jobId: expect.any(Number) });
  });

  it('is ready, serving the live release, with no-store; details only with the metrics token', async () => {
    const r = await ready(withToken);
    expect(r.status).toBe(200);
    expect(r.cacheControl).toBe('no-store');
    expect(r.body).toEqual({
      status: 'ready',
      release: releaseId,
      checks: {
        database: { ok: true, detail: 'answered' },
        cache: { ok: true, detail: 'answered' },
        migrations: { ok: true, detail: 'current' },
        release: { ok: true, detail: `serving ${releaseId}` },
      },
    });
    // A visitor through the front proxy, and anyone without the token: status, ok per check
    // and the release (what a deploy compares), nothing about the installation.
    for (const headers of [{ 'X-Forwarded-For': '203.0.113.7' }, {}] as Record<string, string>[]) {
      const visitor = await ready(headers);
      expect(visitor.status).toBe(200);
      expect(visitor.body).toEqual({ status: 'ready', release: releaseId, checks: { database: { ok: true }, cache: { ok: true }, migrations: { ok: true }, release: { ok: true } } });
    }
    // Liveness: only that the process answers.
    expect(JSON.parse((await httpRequest(new URL(linkPaths.api.health(), base))).text)).toEqual({ status: 'ok' });
  });

  it('answers /api/metrics only with the token (404 otherwise), with latency histograms, outbox gauges and login failures', async () => {
    const refusals: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong-token-of-enough-length' }, { Authorization: metricsToken }];
    for (const headers of refusals) {
      const refused = await metrics(headers);
      expect(refused.status).toBe(404);
      expect(refused.text).not.toContain('rose_');
    }
    // Traffic to count: a static page, a failed sign-in.
    expect((await httpRequest(new URL(linkPaths.blog.home(), base))).status).toBe(200);
    const login = await httpRequest(new URL(linkPaths.auth.login(), base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base },
      body: new URLSearchParams({ email: 'nobody@example.org', password: 'not-the-password-1' }).toString(),
    });
    expect(login.status).toBe(401);

    const res = await metrics({ Authorization: `Bearer ${metricsToken}` });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.text;
    expect(body).toMatch(/^rose_http_request_duration_seconds_bucket\{le="[^"]+",group="static",status="2xx"\} [1-9]/m);
    expect(body).toMatch(/^rose_http_request_duration_seconds_count\{group="api",status="2xx"\} [1-9]/m);
    expect(body).toMatch(/^rose_http_request_duration_seconds_count\{group="auth",status="4xx"\} [1-9]/m);
    expect(body).toMatch(/^rose_outbox_jobs\{state="pending"\} \d+$/m);
    expect(body).toMatch(/^rose_outbox_jobs\{state="failed"\} \d+$/m);
    expect(body).toMatch(/^rose_outbox_oldest_pending_age_seconds \d/m);
    expect(body).toContain(`rose_served_release_info{release="${releaseId}"} 1`);
    expect(body).toMatch(/^rose_served_release_build_seconds\{kind="full"\} \d/m);
    expect(body).toContain('rose_login_failures_total{reason="invalid-credentials"} 1');
    expect(body).toContain('process_resident_memory_bytes');
    // Labels are route groups, never paths.
    expect(body).not.toContain(linkPaths.blog.home());
  });

  it('is not ready while a migration is pending, and ready again once it is applied', async () => {
    const rolledBack = await runRose(['db', 'rollback', '--steps', '1', '--force'], env, { timeoutMs: 120_000 });
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    try {
      const visitor = await ready({ 'X-Forwarded-For': '203.0.113.7' });
      expect(visitor.status).toBe(503);
      expect(visitor.body).toMatchObject({ status: 'not-ready', release: releaseId, checks: { migrations: { ok: false }, database: { ok: true } } });
      expect(visitor.text).not.toContain('detail');
      const r = await ready(withToken);
      expect(r.status).toBe(503);
      expect(r.cacheControl).toBe('no-store');
      expect(r.body.status).toBe('not-ready');
      expect(r.body.checks.migrations.ok).toBe(false);
      expect(r.body.checks.migrations.detail).toMatch(/missing 1 migration/);
      expect(r.body.checks.database.ok).toBe(true);
      expect(r.body.release).toBe(releaseId);
    } finally {
      const migrated = await runRose(['db', 'migrate'], env, { timeoutMs: 120_000 });
      expect(migrated.code, migrated.stderr).toBe(0);
    }
    expect((await ready()).status).toBe(200);
    // The operator finds why in the log, once, and that it came back.
    const warned = logLines().filter((l) => l.msg === 'not ready');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, release: releaseId, failed: { migrations: expect.stringMatching(/missing 1 migration/) } });
    expect(logLines().find((l) => l.msg === 'ready again')).toMatchObject({ level: 30, release: releaseId });
  });
});
