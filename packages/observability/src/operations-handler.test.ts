import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { linkPaths } from '@rose/core';
import { httpRequest } from '@rose/testing';
import { createMetrics } from './metrics.ts';
import { createOperationsHandler } from './operations-handler.ts';
import type { ReadinessReport } from './readiness.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const notReady: ReadinessReport = {
  status: 'not-ready',
  checks: {
    database: { ok: false, detail: 'password authentication failed for user "rose"' },
    cache: { ok: true, detail: 'answered' },
    migrations: { ok: false, detail: 'The database is missing 1 migration(s): 0042_secret_plans.' },
    release: { ok: false, detail: 'the folder of release r7 is gone (/srv/rose/dist/releases/r7)' },
  },
  release: 'r7',
};
const ready: ReadinessReport = {
  status: 'ready',
  checks: { database: { ok: true, detail: 'answered' }, cache: { ok: true, detail: 'answered' }, migrations: { ok: true, detail: 'current' }, release: { ok: true, detail: 'serving r7' } },
  release: 'r7',
};

/** The handler on loopback (a private client); `report` is what readiness says next. */
async function serve(token: string | undefined) {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const logger = {
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  };
  const state = { report: notReady, now: 0 };
  const handle = createOperationsHandler({ readiness: async () => state.report, metrics: createMetrics(), access: { token }, logger, now: () => state.now });
  const server = http.createServer((req, res) => {
    void handle(req, res).then((answered) => {
      if (!answered) res.writeHead(418).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await httpRequest(new URL(path, base), { headers });
    return { status: res.status, body: res.text };
  };
  return { get, lines, state };
}

describe('operations handler', () => {
  it('gives the public only status, ok per check and the release; details to a private client that connects directly', async () => {
    const { get } = await serve(undefined);
    const direct = await get(linkPaths.api.ready());
    expect(direct.status).toBe(503);
    expect(JSON.parse(direct.body)).toEqual(notReady);

    for (const headers of [{ 'X-Forwarded-For': '203.0.113.7' }, { 'X-Forwarded-For': '172.17.0.1' }, { Forwarded: 'for=10.0.0.7' }] as Record<string, string>[]) {
      const proxied = await get(linkPaths.api.ready(), headers);
      expect(proxied.status).toBe(503);
      expect(JSON.parse(proxied.body)).toEqual({ status: 'not-ready', checks: { database: { ok: false }, cache: { ok: true }, migrations: { ok: false }, release: { ok: false } }, release: 'r7' });
      expect(proxied.body).not.toMatch(/password|0042|\/srv/);
      // The metrics are not answered through a proxy either.
      expect((await get(linkPaths.api.metrics(), headers)).status).toBe(404);
    }
    expect((await get(linkPaths.api.metrics())).status).toBe(200);
  });

  it('with a token, gives details and metrics only to a request carrying it', async () => {
    const { get } = await serve('a-long-metrics-token-1234');
    expect(JSON.parse((await get(linkPaths.api.ready())).body)).not.toHaveProperty('checks.database.detail');
    expect((await get(linkPaths.api.metrics())).status).toBe(404);
    const auth = { Authorization: 'Bearer a-long-metrics-token-1234' };
    expect(JSON.parse((await get(linkPaths.api.ready(), { ...auth, 'X-Forwarded-For': '203.0.113.7' })).body)).toEqual(notReady);
    expect((await get(linkPaths.api.metrics(), auth)).status).toBe(200);
  });

  it('logs the details at warn when not ready: once per state, again after a minute or when they change, and says when ready again', async () => {
    const { get, lines, state } = await serve(undefined);
    await get(linkPaths.api.ready(), { 'X-Forwarded-For': '203.0.113.7' });
    await get(linkPaths.api.ready());
    expect(lines).toEqual([
      {
        level: 'warn',
        msg: 'not ready',
        obj: { release: 'r7', failed: { database: notReady.checks.database.detail, migrations: notReady.checks.migrations.detail, release: notReady.checks.release.detail } },
      },
    ]);
    state.now = 60_000;
    await get(linkPaths.api.ready());
    expect(lines).toHaveLength(2);
    state.report = { ...notReady, checks: { ...notReady.checks, database: ready.checks.database } };
    await get(linkPaths.api.ready());
    expect(lines[2]).toMatchObject({ level: 'warn', obj: { failed: { migrations: expect.any(String), release: expect.any(String) } } });
    expect(lines[2]!.obj.failed).not.toHaveProperty('database');
    state.report = ready;
    await get(linkPaths.api.ready());
    await get(linkPaths.api.ready());
    expect(lines.slice(3)).toEqual([{ level: 'info', msg: 'ready again', obj: { release: 'r7' } }]);
  });

  it('leaves other paths alone', async () => {
    const { get } = await serve(undefined);
    expect((await get('/api/health')).status).toBe(418);
  });
});
