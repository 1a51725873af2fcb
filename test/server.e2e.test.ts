import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuiltSite, createEmptyPostgresDatabase, dropDatabase, freePort, makeProjectTempDir, runRose, startRose, testRedisUrl, type RunningRose } from '@rose/testing';

// `rose serve` on real Postgres and Redis: static pages from disk, the account-menu server
// island, liveness and readiness on demand, and what happens when Redis or the database goes away.
describe('rose serve (Postgres + Redis)', () => {
  let tmp: string;
  let env: Record<string, string>;
  let dropDb: () => Promise<void>;
  let dbName: string;
  let server: RunningRose;
  const namespace = `rose-test-${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(testRedisUrl, { lazyConnect: true });

  beforeAll(async () => {
    tmp = await makeProjectTempDir('serve');
    const database = await createEmptyPostgresDatabase();
    dropDb = database.drop;
    dbName = database.name;
    // The demo site's release (built once per checkout state, shared by e2e files) over the
    // same content seeded into Postgres: the pages are what this database would build.
    env = { ...(await copyBuiltSite(tmp)), DATABASE_URL: database.url, REDIS_URL: testRedisUrl, ROSE_CACHE_NAMESPACE: namespace };
    for (const args of [['db', 'migrate'], ['db', 'seed']]) {
      const r = await runRose(args, env, { timeoutMs: 240_000 });
      if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed:\n${r.stderr}`);
    }
    server = await startRose(['serve', '--port', String(await freePort()), '--host', '127.0.0.1'], env);
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine

  afterAll(async () => {
    await server?.stop();
    await dropDb?.();
    const keys = await redis.keys(`${namespace}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('prints the URL it serves on', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves static blog pages as HTML', async () => {
    const res = await fetch(new URL('/blog/', server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Rose Ash Co-operative');
    const feed = await fetch(new URL('/blog/rss.xml', server.url));
    expect(feed.status).toBe(200);
  });

  it('answers unknown paths with the 404 page', async () => {
    const res = await fetch(new URL('/blog/no-such-post/', server.url));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Page not found');
  });

  it('renders the account-menu island on demand and caches it in Redis', async () => {
    const page = await (await fetch(new URL('/blog/', server.url))).text();
    const islandPath = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
    expect(islandPath).toBeDefined();
    const res = await fetch(new URL(islandPath!, server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const html = await res.text();
    expect(html).toContain('Sign in');
    await redis.connect().catch(() => {});
    const keys = await redis.keys(`${namespace}fragment:account-menu:anonymous:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.get(keys[0]!)).toBe(html);
  });

  it('is alive (/api/health) and ready: database, cache, migrations and release (/api/ready)', async () => {
    const res = await fetch(new URL('/api/health', server.url));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    const ready = await fetch(new URL('/api/ready', server.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: { ok: true }, cache: { ok: true }, migrations: { ok: true }, release: { ok: true } } });
  });

  it('serves OpenID discovery and picks up a rotated signing key without a restart', async () => {
    const discovery = (await (await fetch(new URL('/auth/.well-known/openid-configuration', server.url))).json()) as { jwks_uri: string };
    const kids = async () => ((await (await fetch(discovery.jwks_uri.replace(/^https?:\/\/[^/]+/, server.url.replace(/\/$/, '')))).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const before = await kids();
    expect(before).toHaveLength(1);
    const rotated = await runRose(['oauth', 'keys', 'rotate'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const kid = /New signing key (\S+)/.exec(rotated.stdout)![1]!;
    await expect.poll(kids, { timeout: 5_000, interval: 200 }).toEqual([kid, before[0]]);
  });

  it('with Redis unreachable: still alive (it serves), not ready (503, says why), pages and the island still work', async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}/0`;
    const degraded = await startRose(['serve', '--port', String(await freePort()), '--host', '127.0.0.1'], { ...env, REDIS_URL: deadRedis });
    try {
      // Liveness stays 200: a Redis outage must not take every server out of Caddy's pool.
      const health = await fetch(new URL('/api/health', degraded.url));
      expect(health.status).toBe(200);
      const ready = await fetch(new URL('/api/ready', degraded.url));
      expect(ready.status).toBe(503);
      // From loopback directly (no token set): with the details.
      const body = (await ready.json()) as { status: string; checks: { database: { ok: boolean }; cache: { ok: boolean; detail: string } } };
      expect(body.status).toBe('not-ready');
      expect(body.checks.database.ok).toBe(true);
      expect(body.checks.cache.ok).toBe(false);
      expect(body.checks.cache.detail).toContain('unavailable');

      const page = await fetch(new URL('/blog/', degraded.url));
      expect(page.status).toBe(200);
      const islandPath = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec(await page.text())![1]!.replace(/&amp;/g, '&');
      const island = await fetch(new URL(islandPath, degraded.url));
      expect(island.status).toBe(200);
      expect(await island.text()).toContain('Sign in');
    } finally {
      expect(await degraded.stop('SIGINT')).toBe(0);
    }
  });

  it('follows a new release without a restart, and a rollback too', async () => {
    // Pages nobody changed keep the file of the release that rendered them; the server names
    // the release it serves on every static answer.
    const releaseOf = async () => (await fetch(new URL('/blog/', server.url))).headers.get('x-rose-release') ?? undefined;
    const before = await releaseOf();
    expect(before).toBeDefined();
    const build = await runRose(['build'], env, { timeoutMs: 240_000 });
    expect(build.code, build.stderr).toBe(0);
    const after = /release (\S+) is live/.exec(build.stdout)![1];
    await expect.poll(releaseOf, { timeout: 5_000, interval: 200 }).toBe(after);
    expect((await fetch(new URL('/api/health', server.url))).status).toBe(200);
    await runRose(['release', 'rollback'], env);
    await expect.poll(releaseOf, { timeout: 5_000, interval: 200 }).toBe(before);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const other = await startRose(['serve', '--port', '0', '--host', '127.0.0.1'], env);
    expect((await fetch(new URL('/blog/', other.url))).status).toBe(200);
    expect(await other.stop('SIGTERM')).toBe(0);
    expect(other.output()).toContain('Stopped.');
  });

  it('without ROSE_SITE_URL, sign-in follows the address it listens on (127.0.0.1, a random port)', async () => {
    const origin = server.url.replace(/\/$/, '');
    const password = 'Quince-Jelly-on-Tuesdays-4';
    const created = await runRose(['users', 'create', '--email', 'ivy@example.org', '--name', 'Ivy Cooper', '--password-stdin'], env, { stdin: password });
    expect(created.code, created.stderr).toBe(0);
    expect(server.output()).not.toContain('ROSE_SITE_URL'); // nothing to warn about
    const discovery = (await (await fetch(`${origin}/auth/.well-known/openid-configuration`)).json()) as { issuer: string; authorization_endpoint: string };
    expect(discovery.issuer).toBe(`${origin}/auth`);
    expect(discovery.authorization_endpoint).toBe(`${origin}/auth/authorize`);
    // The reader's way in: the island's "Sign in" link, then the form.
    const page = await (await fetch(`${origin}/blog/`)).text();
    const islandPath = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    const island = await (await fetch(`${origin}${islandPath}`, { headers: { referer: `${origin}/blog/` } })).text();
    const signIn = /href="([^"]+)" data-testid="sign-in"/.exec(island)![1]!.replace(/&amp;/g, '&');
    expect(signIn).toBe('/auth/login?return_to=%2Fblog%2F');
    const form = await fetch(`${origin}${signIn}`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="password"');
    const login = await fetch(`${origin}/auth/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: new URLSearchParams({ email: 'ivy@example.org', password, return_to: '/blog/' }) });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/blog/');
    const cookie = /rose_session=[a-z2-7]{32}/.exec(login.headers.getSetCookie().join(';'))![0];
    const account = await fetch(`${origin}/account/`, { headers: { cookie } });
    expect(account.status).toBe(200);
    expect(await account.text()).toContain('<strong>Ivy Cooper</strong>');
  });

  it('with ROSE_SITE_URL naming another address, warns at start-up and sends sign-in there', async () => {
    const port = await freePort();
    const elsewhere = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], { ...env, ROSE_SITE_URL: `http://localhost:${port}` });
    try {
      expect(elsewhere.url).toBe(`http://127.0.0.1:${port}/`);
      expect(elsewhere.output()).toContain(`ROSE_SITE_URL is http://localhost:${port} but this server listens on http://127.0.0.1:${port}`);
      const login = await fetch(new URL('/auth/login?return_to=%2Fblog%2F', elsewhere.url), { redirect: 'manual' });
      expect(login.status).toBe(308);
      expect(login.headers.get('location')).toBe(`http://localhost:${port}/auth/login?return_to=%2Fblog%2F`);
    } finally {
      expect(await elsewhere.stop('SIGINT')).toBe(0);
    }
  });

  it('with the database gone: still alive, not ready (503, says why) and static pages still serve', async () => {
    await dropDatabase(dbName); // terminates the server's connections too
    expect((await fetch(new URL('/api/health', server.url))).status).toBe(200);
    const ready = await fetch(new URL('/api/ready', server.url));
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: { database: { ok: boolean; detail: string }; cache: { ok: boolean } } };
    expect(body.checks.database.ok).toBe(false);
    expect(body.checks.database.detail).not.toBe('');
    expect(body.checks.cache.ok).toBe(true);
    expect(JSON.stringify(body)).not.toContain('postgres://');
    // Through a proxy, without the metrics token: no error text at all.
    const forwarded = await fetch(new URL('/api/ready', server.url), { headers: { 'X-Forwarded-For': '203.0.113.7' } });
    expect(forwarded.status).toBe(503);
    const publicText = await forwarded.text();
    expect(JSON.parse(publicText)).toMatchObject({ status: 'not-ready', checks: { database: { ok: false }, cache: { ok: true } } });
    expect(publicText).not.toContain('detail');
    expect((await fetch(new URL('/blog/', server.url))).status).toBe(200);
  });
});
