import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '@rose/testing';
import { currentRequestId } from './context.ts';
import { createMetrics } from './metrics.ts';
import { createRequestObserver } from './request-observer.ts';

interface Line {
  level: 'info' | 'debug';
  obj: Record<string, unknown>;
  msg: string;
}

function recorder(level: 'info' | 'debug') {
  const lines: Line[] = [];
  return {
    lines,
    logger: {
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      debug: (obj: object, msg: string) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
      isLevelEnabled: (l: string) => l === 'info' || (l === 'debug' && level === 'debug'),
    },
  };
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server like `rose serve`: `/static/…` answered as a file would be, the rest as dynamic. */
async function serve(level: 'info' | 'debug', trusted: string[]) {
  const { lines, logger } = recorder(level);
  const metrics = createMetrics();
  const observe = createRequestObserver({ logger, metrics, isTrustedProxy: (a) => a !== undefined && trusted.includes(a) });
  const seen: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    const started = performance.now();
    if (req.url?.startsWith('/static/')) {
      res.writeHead(200, ['Content-Type', 'text/plain']);
      res.end('file');
      return observe.served(req, res, started);
    }
    observe.dynamic(req, res, () => {
      // Far down the request (an awaited call), the id is still there.
      void Promise.resolve().then(() => {
        seen.push(currentRequestId());
        res.writeHead(req.url?.startsWith('/api/') ? 503 : 200, { 'Content-Type': 'text/plain' });
        res.end('dynamic');
      });
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Each response's log line is written on close: wait for it.
  const until = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (lines.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return lines;
  };
  return { url, lines, metrics, seen, until };
}

describe('request observer', () => {
  it("gives a dynamic request a new id, echoes it, carries it through the request and logs one line with it", async () => {
    const s = await serve('info', []);
    const res = await httpRequest(`${s.url}/blog/hello/?token=secret`, { headers: { 'X-Request-Id': 'forged-by-client' } });
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.seen).toEqual([id]);
    const [line] = await s.until(1);
    expect(line).toEqual({ level: 'info', msg: 'request', obj: { reqId: id, method: 'GET', path: '/blog/hello/', group: 'blog', status: 200, ms: expect.any(Number) } });
  });

  it("keeps a trusted proxy's id (when valid)", async () => {
    const s = await serve('info', ['127.0.0.1']);
    const kept = await httpRequest(`${s.url}/api/ready`, { headers: { 'X-Request-Id': 'caddy-7f3a' } });
    expect(kept.headers['x-request-id']).toBe('caddy-7f3a');
    const replaced = await httpRequest(`${s.url}/api/ready`, { headers: { 'X-Request-Id': 'not valid!' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const lines = await s.until(2);
    expect(lines.map((l) => [l.obj.reqId, l.obj.group, l.obj.status])).toEqual([
      ['caddy-7f3a', 'api', 503],
      [replaced.headers['x-request-id'], 'api', 503],
    ]);
  });

  it('counts static files without a log line or an id at info level, and logs them at debug', async () => {
    const quiet = await serve('info', ['127.0.0.1']);
    const res = await httpRequest(`${quiet.url}/static/app.css`, { headers: { 'X-Request-Id': 'caddy-1' } });
    expect(res.headers['x-request-id']).toBeUndefined();
    expect(quiet.lines).toEqual([]);
    expect((await quiet.metrics.scrape()).body).toContain('rose_http_request_duration_seconds_count{group="static",status="2xx"} 1');

    const chatty = await serve('debug', ['127.0.0.1']);
    await httpRequest(`${chatty.url}/static/app.css`, { headers: { 'X-Request-Id': 'caddy-2' } });
    const [line] = await chatty.until(1);
    expect(line).toMatchObject({ level: 'debug', msg: 'request', obj: { reqId: 'caddy-2', group: 'static', status: 200 } });
  });
});
