import { describe, expect, it } from 'vitest';
import { checkHealth } from './health-check.ts';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A front door whose /api/ready answers from `ready` in turn (the last one repeats). */
function frontDoor(ready: Array<() => Response>, home = 200) {
  let i = 0;
  const seen: string[] = [];
  const fetch = (async (url: string) => {
    seen.push(new URL(url).pathname);
    if (url.endsWith('/api/ready')) return ready[Math.min(i++, ready.length - 1)]!();
    return new Response('<html></html>', { status: home });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, seen };
}

describe('checkHealth', () => {
  it('passes once the new release is reported three times in a row and the home page answers', async () => {
    const door = frontDoor([() => json(200, { status: 'ready', release: 'old' }), () => json(503, { status: 'not-ready' }), () => json(200, { status: 'ready', release: 'new' })]);
    const result = await checkHealth('http://site', { release: 'new', timeoutMs: 10_000, intervalMs: 1, fetch: door.fetch });
    expect(result).toEqual({ ok: true, checks: 5 });
    expect(door.seen.at(-1)).toBe('/');
  });

  it('fails with what the site said when the release never comes', async () => {
    const door = frontDoor([() => json(200, { status: 'ready', release: 'old' })]);
    const result = await checkHealth('http://site', { release: 'new', timeoutMs: 200, intervalMs: 10, fetch: door.fetch });
    expect(result).toMatchObject({ ok: false, problem: '/api/ready reports release old, not new' });
  });

  it('names the readiness checks that fail', async () => {
    const door = frontDoor([() => json(503, { status: 'not-ready', checks: { database: { ok: true }, migrations: { ok: false }, cache: { ok: false } } })]);
    expect(await checkHealth('http://site', { release: 'new', timeoutMs: 150, intervalMs: 10, fetch: door.fetch })).toMatchObject({ ok: false, problem: '/api/ready answered 503 (not-ready: migrations, cache failing)' });
  });

  it('fails on a broken home page, and on a site that does not answer', async () => {
    const broken = frontDoor([() => json(200, { status: 'ready', release: 'new' })], 500);
    expect(await checkHealth('http://site', { release: 'new', timeoutMs: 200, intervalMs: 10, fetch: broken.fetch })).toMatchObject({ ok: false, problem: 'the home page answered 500' });
    const refused = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect(await checkHealth('http://site', { release: undefined, timeoutMs: 150, intervalMs: 10, fetch: refused })).toMatchObject({ ok: false, problem: 'http://site did not answer: fetch failed' });
  });
});
