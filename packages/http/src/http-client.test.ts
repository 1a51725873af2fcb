import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createHttpClient, type HttpClientOptions } from './http-client.ts';
import { HttpError } from './http.error.ts';

interface Seen {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the local server does with a request: answer it, leave it hanging, or drop the connection. */
type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'reset' | ((res: ServerResponse) => void);

let server: { url: string; requests: Seen[]; close(): Promise<void> } | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A real node:http server on 127.0.0.1, so the client's fetch, timers and sockets all run. */
async function serve(answer: (req: Seen, n: number) => Answer) {
  const requests: Seen[] = [];
  const http = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(seen);
      const a = answer(seen, requests.length);
      if (a === 'hang') return;
      if (a === 'reset') return void req.socket.destroy();
      if (typeof a === 'function') return a(res);
      res.writeHead(a.status, a.headers);
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  server = {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.closeAllConnections();
        http.close((e) => (e ? reject(e) : resolve()));
      }),
  };
  return server;
}

/** A clock that only moves when the client sleeps: waits are recorded and take no time. */
function fakeTime(start = '2026-11-29T12:00:00Z') {
  const clock = createFixedClock(new Date(start));
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
    clock.advance(ms);
  };
  return { clock, sleep, waits };
}

function client(baseUrl: string, opts: Partial<HttpClientOptions> = {}) {
  const time = fakeTime();
  const http = createHttpClient({ service: 'Stock API', baseUrl, urlSetting: 'STOCK_URL', clock: time.clock, sleep: time.sleep, random: () => 0, ...opts });
  return { http, ...time };
}

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError, but the request succeeded');
}

const json = (value: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

describe('retries', () => {
  it('retries a 503 after the back-off and returns the answer that follows', async () => {
    const s = await serve((_, n) => (n === 1 ? { status: 503 } : json({ items: 3 })));
    const { http, waits } = client(s.url);
    const res = await http.request({ url: '/stock' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ items: 3 });
    expect(res.attempts).toBe(2);
    expect(s.requests).toHaveLength(2);
    expect(waits).toEqual([250]);
  });

  it('doubles the wait each time, up to its cap, and gives up after retries + 1 attempts', async () => {
    const s = await serve(() => ({ status: 502, body: 'Bad Gateway' }));
    const { http, waits } = client(s.url, { retries: 4, backoffMs: 100, maxBackoffMs: 300 });
    const error = await failure(http.request({ url: '/stock' }));
    expect(waits).toEqual([100, 200, 300, 300]);
    expect(error).toMatchObject({ kind: 'status', status: 502, attempts: 5, body: 'Bad Gateway', code: 'http-status' });
    expect(error.message.replace(s.url.slice(7), 'host')).toMatchInlineSnapshot(`"Stock API at host failed on GET /stock (HTTP 502) (5 attempts)."`);
    expect(error.hint).toMatchInlineSnapshot(`"Stock API, or a proxy in front of it, is failing; check its status and try again later."`);
  });

  it('takes a random share off each wait (jitter), so clients retrying together spread out', async () => {
    const s = await serve(() => ({ status: 503 }));
    const { http, waits } = client(s.url, { retries: 2, backoffMs: 1000, jitter: 0.5, random: () => 0.5 });
    await failure(http.request({ url: '/stock' }));
    expect(waits).toEqual([750, 1500]);
  });

  it('does not retry other 4xx answers', async () => {
    const s = await serve(() => ({ status: 400, body: '{"error":"bad sku"}' }));
    const { http, waits } = client(s.url);
    const error = await failure(http.request({ url: '/stock' }));
    expect(error).toMatchObject({ kind: 'status', status: 400, attempts: 1, body: '{"error":"bad sku"}' });
    expect(s.requests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('returns statuses the caller accepts instead of failing on them', async () => {
    const s = await serve(() => ({ status: 404, body: 'gone' }));
    const { http } = client(s.url);
    const res = await http.request({ url: '/stock/9', accept: (status) => status === 404 || status === 200 });
    expect([res.status, res.body]).toEqual([404, 'gone']);
  });

  it('calls the headers function for every attempt, so each can carry a fresh token', async () => {
    const s = await serve((_, n) => (n < 3 ? { status: 500 } : json({})));
    const { http } = client(s.url);
    let token = 0;
    await http.request({ url: '/stock', headers: () => ({ 'X-Attempt-Token': `t${++token}` }) });
    expect(s.requests.map((r) => r.headers['x-attempt-token'])).toEqual(['t1', 't2', 't3']);
  });
});

describe('Retry-After', () => {
  it('waits the seconds a 503 or 429 asks for instead of the back-off', async () => {
    const s = await serve((_, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '3' } } : n === 2 ? { status: 429, headers: { 'retry-after': '7' } } : json({})));
    const { http, waits } = client(s.url);
    await http.request({ url: '/stock' });
    expect(waits).toEqual([3000, 7000]);
  });

  it('reads an HTTP date, measured from the client clock', async () => {
    const { clock } = fakeTime();
    const at = new Date(clock.now().getTime() + 5_000).toUTCString();
    const s = await serve((_, n) => (n === 1 ? { status: 503, headers: { 'retry-after': at } } : json({})));
    const { http, waits } = client(s.url);
    await http.request({ url: '/stock' });
    expect(waits).toEqual([5000]);
  });

  it('gives up at once when asked to wait longer than the cap', async () => {
    const s = await serve(() => ({ status: 429, headers: { 'retry-after': '3600' } }));
    const { http, waits } = client(s.url, { maxRetryAfterMs: 60_000 });
    const error = await failure(http.request({ url: '/stock' }));
    expect(waits).toEqual([]);
    expect(error).toMatchObject({ kind: 'status', status: 429, attempts: 1, retryAfterMs: 3_600_000 });
    expect(error.message.replace(s.url.slice(7), 'host')).toMatchInlineSnapshot(
      `"Stock API at host kept refusing GET /stock with 429 Too Many Requests and asked us to wait 3600 s."`,
    );
  });

  it('gives up at once when the wait would pass the deadline', async () => {
    const s = await serve(() => ({ status: 503, headers: { 'retry-after': '30' } }));
    const { http, waits } = client(s.url, { deadlineMs: 10_000 });
    const error = await failure(http.request({ url: '/stock' }));
    expect(waits).toEqual([]);
    expect(error).toMatchObject({ kind: 'deadline', status: 503, attempts: 1, retryAfterMs: 30_000, limitMs: 10_000 });
    expect(error.message.replace(s.url.slice(7), 'host')).toMatchInlineSnapshot(
      `"Stock API at host did not answer GET /stock successfully within the 10000 ms deadline; last: HTTP 503, and it asked to wait 30 s."`,
    );
  });
});

describe('deadlines', () => {
  it('times out an attempt that gets no answer, retries it, and names the limit', async () => {
    const s = await serve(() => 'hang');
    const { http } = client(s.url, { attemptTimeoutMs: 300, retries: 1 });
    const error = await failure(http.request({ url: '/stock' }));
    expect(error).toMatchObject({ kind: 'timeout', attempts: 2, limitMs: 300 });
    // On a busy machine an attempt may time out before the server has read it.
    expect(s.requests.length).toBeLessThanOrEqual(2);
    expect(error.message.replace(s.url.slice(7), 'host')).toMatchInlineSnapshot(`"Stock API at host did not answer GET /stock within 300 ms (2 attempts)."`);
  });

  it('counts the body in the attempt: headers followed by silence time out too', async () => {
    const s = await serve(() => (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":');
    });
    const { http } = client(s.url, { attemptTimeoutMs: 50, retries: 0 });
    expect(await failure(http.request({ url: '/stock' }))).toMatchObject({ kind: 'timeout', attempts: 1 });
  });

  it('stops retrying when the overall deadline would pass before the next attempt', async () => {
    const s = await serve(() => ({ status: 503 }));
    const { http, waits } = client(s.url, { backoffMs: 1000, retries: 10, deadlineMs: 2500 });
    const error = await failure(http.request({ url: '/stock' }));
    // 0 ms: attempt 1; 1000 ms: attempt 2; the next wait (2000 ms) would end past 2500 ms.
    expect(waits).toEqual([1000]);
    expect(error).toMatchObject({ kind: 'deadline', attempts: 2, status: 503 });
    expect(error.message.replace(s.url.slice(7), 'host')).toMatchInlineSnapshot(
      `"Stock API at host did not answer GET /stock successfully within the 2500 ms deadline (2 attempts); last: HTTP 503."`,
    );
  });

  it('cuts an attempt short when the overall deadline comes first', async () => {
    const s = await serve(() => 'hang');
    const http = createHttpClient({ service: 'Stock API', baseUrl: s.url, attemptTimeoutMs: 30_000, deadlineMs: 100 });
    const started = performance.now();
    const error = await failure(http.request({ url: '/stock' }));
    expect(error).toMatchObject({ kind: 'deadline', attempts: 1, limitMs: 100 });
    // Well under the 30 s attempt timeout, however busy the machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('lets the caller cancel, waits included', async () => {
    const s = await serve(() => 'hang');
    const controller = new AbortController();
    const { http } = client(s.url);
    const pending = failure(http.request({ url: '/stock', signal: controller.signal }));
    await expect.poll(() => s.requests.length, { timeout: 10_000 }).toBe(1);
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'aborted', attempts: 1 });
  });
});

describe('writes', () => {
  it('does not repeat a POST the service may have acted on (5xx, timeout)', async () => {
    const s = await serve((req) => (req.url.pathname === '/slow' ? 'hang' : { status: 503 }));
    const { http } = client(s.url);
    expect(await failure(http.request({ method: 'POST', url: '/orders', json: { sku: 'A1' } }))).toMatchObject({ kind: 'status', attempts: 1 });
    expect(await failure(http.request({ method: 'POST', url: '/slow', json: {}, attemptTimeoutMs: 300 }))).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(s.requests.filter((r) => r.url.pathname === '/orders')).toHaveLength(1);
    expect(s.requests.filter((r) => r.url.pathname === '/slow').length).toBeLessThanOrEqual(1);
    expect(s.requests[0]).toMatchObject({ method: 'POST', body: '{"sku":"A1"}' });
    expect(s.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('retries a POST marked idempotent, and any POST refused with 429', async () => {
    const s = await serve((req, n) => (n % 2 === 1 ? { status: req.url.pathname === '/limited' ? 429 : 503 } : json({ ok: true })));
    const { http } = client(s.url);
    expect((await http.request({ method: 'POST', url: '/orders', json: {}, idempotent: true })).attempts).toBe(2);
    expect((await http.request({ method: 'POST', url: '/limited', json: {} })).attempts).toBe(2);
  });

  it('retries PUT and DELETE by default', async () => {
    const s = await serve((_, n) => (n % 2 === 1 ? { status: 503 } : { status: 204 }));
    const { http } = client(s.url);
    expect((await http.request({ method: 'PUT', url: '/stock/1', json: { n: 2 } })).attempts).toBe(2);
    expect((await http.request({ method: 'DELETE', url: '/stock/1' })).attempts).toBe(2);
  });

  it('retries a POST that never left (connection refused)', async () => {
    const s = await serve(() => 'hang');
    const url = s.url;
    await s.close();
    server = undefined;
    const { http, waits } = client(url, { retries: 2 });
    const error = await failure(http.request({ method: 'POST', url: '/orders', json: {} }));
    expect(error).toMatchObject({ kind: 'network', networkCode: 'ECONNREFUSED', attempts: 3 });
    expect(waits).toEqual([250, 500]);
    expect(error.message).toBe(`Could not reach Stock API at ${url.slice(7)} for POST /orders: ECONNREFUSED (3 attempts).`);
    expect(error.hint).toBe('Check the address in STOCK_URL and that Stock API is running and reachable from this machine.');
  });

  it('shows a redirect on a write instead of letting fetch turn the POST into a GET', async () => {
    const s = await serve(() => ({ status: 301, headers: { location: 'https://stock.example/orders?token=abc123' } }));
    const { http } = client(s.url);
    const error = await failure(http.request({ method: 'POST', url: '/orders', json: {} }));
    expect(error).toMatchObject({ kind: 'status', status: 301, location: 'https://stock.example/orders', attempts: 1 });
    expect(error.hint).toContain('Set STOCK_URL to the exact address');
  });
});

describe('answers', () => {
  it('sends the query with %20 for spaces and parses JSON', async () => {
    const s = await serve(() => json({ ok: true }));
    const { http } = client(`${s.url}/api/`);
    const res = await http.request({ url: 'items', query: { filter: 'name:a b+c', page: 2, skip: undefined } });
    expect(s.requests[0]!.url.pathname).toBe('/api/items');
    expect(s.requests[0]!.url.search).toBe('?filter=name%3Aa%20b%2Bc&page=2');
    expect(res.json()).toEqual({ ok: true });
  });

  it('reports an answer that is not JSON as malformed when asked for JSON', async () => {
    const s = await serve(() => ({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<html>Sign in</html>' }));
    const { http } = client(s.url);
    const res = await http.request({ url: '/stock' });
    let error: unknown;
    try {
      res.json();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).message).toContain('with something that is not JSON (content-type text/html)');
  });

  it('refuses an answer larger than maxBodyBytes', async () => {
    const s = await serve(() => ({ status: 200, body: 'x'.repeat(5000) }));
    const { http } = client(s.url, { maxBodyBytes: 1000 });
    expect(await failure(http.request({ url: '/stock' }))).toMatchObject({ kind: 'too-large', status: 200 });
  });

  it('names the credentials setting when the key is refused', async () => {
    const s = await serve(() => ({ status: 401 }));
    const { http } = client(s.url, { credentialsSetting: 'STOCK_API_KEY' });
    const error = await failure(http.request({ url: '/stock' }));
    expect(error.message.replace(s.url.slice(7), 'host')).toMatchInlineSnapshot(`"Stock API at host refused the credentials for GET /stock (HTTP 401)."`);
    expect(error.hint).toMatchInlineSnapshot(`"Check STOCK_API_KEY: the key may be wrong, revoked or lack the permission."`);
  });
});

describe('redaction', () => {
  const key = 'k3y-9f8e7d6c5b4a';
  const token = 'tok_5e5e5e5e5e5e5e';

  it('keeps keys and tokens out of errors, even when the service repeats them', async () => {
    const s = await serve(() => ({ status: 401, body: `{"error":"key ${key} and token ${token} are revoked"}` }));
    const { http } = client(s.url);
    const error = await failure(http.request({ url: '/stock', query: { key, page: 2 }, headers: { Authorization: `Bearer ${token}` } }));
    expect(s.requests[0]!.url.searchParams.get('key')).toBe(key); // sent, of course
    expect(error.url).toBe(`${s.url}/stock?key=****&page=2`);
    expect(error.body).toBe('{"error":"key **** and token **** are revoked"}');
    const everything = `${error.message} ${error.hint} ${JSON.stringify(error)} ${error.stack}`;
    expect(everything).not.toContain(key);
    expect(everything).not.toContain(token);
  });

  it('keeps them out of the retry log lines and redirect targets', async () => {
    const s = await serve((_, n) => (n === 1 ? { status: 503, body: key } : json({})));
    const lines: Array<[string, Record<string, unknown>]> = [];
    const { http } = client(s.url, { log: (message, fields) => lines.push([message, fields]), secrets: ['extra-secret-value'] });
    await http.request({ url: '/stock', query: { access_token: token, key } });
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(JSON.stringify(lines)).not.toContain(key);
    expect(lines[0]![0]).toBe('Stock API: retrying GET /stock in 250 ms');
    expect(lines[0]![1]).toMatchObject({ url: `${s.url}/stock?access_token=****&key=****`, attempt: 1, waitMs: 250, reason: 'HTTP 503' });
  });

  it('redacts secrets the client was given, wherever the service echoes them', async () => {
    const s = await serve(() => ({ status: 403, body: 'signed with extra-secret-value' }));
    const { http } = client(s.url, { secrets: ['extra-secret-value'] });
    const error = await failure(http.request({ url: '/stock' }));
    expect(error.body).toBe('signed with ****');
  });
});
