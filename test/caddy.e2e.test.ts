import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caddyPagePolicy } from '@rose/deploy';
import { copyBuiltSite, createEmptyPostgresDatabase, freePort, makeProjectTempDir, runRose, startRose, testRedisUrl, type RunningRose } from '@rose/testing';

// The real Caddy (Debian's package) run with the Caddyfile `rose caddy config` writes, in front
// of two `rose serve` processes on one Postgres and one Redis: files straight from the live
// release on disk with the headers rose serve sends, the rest spread over both servers, and
// one of them killed in the middle of a load.

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One raw request (no decoding, chosen Accept-Encoding), as `fetch` cannot. */
function request(origin: string, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(origin);
    const req = http.request({ host: url.hostname, port: url.port, path: target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface CaddyLog {
  msg?: string;
  logger?: string;
  upstream?: string;
  host?: string;
  error?: string;
  request?: { uri?: string; headers?: Record<string, string[]> };
}

describe('Caddy in front of two rose serve processes (Postgres + Redis)', () => {
  let tmp: string;
  let client: string;
  let env: Record<string, string>;
  let dropDb: (() => Promise<void>) | undefined;
  let servers: RunningRose[] = [];
  let upstreams: string[] = [];
  let caddy: ChildProcess | undefined;
  let caddyfile: string;
  let site: string;
  let island: string;
  const caddyLog: CaddyLog[] = [];
  const namespace = `rose-test-${randomBytes(4).toString('hex')}:`;
  const roundtrips = (from = 0) => caddyLog.slice(from).filter((l) => l.msg === 'upstream roundtrip');

  beforeAll(async () => {
    tmp = await makeProjectTempDir('caddy');
    const database = await createEmptyPostgresDatabase();
    dropDb = database.drop;
    const [caddyPort, adminPort, port1, port2] = await distinctFreePorts(4);
    site = `http://127.0.0.1:${caddyPort}`;
    upstreams = [`127.0.0.1:${port1}`, `127.0.0.1:${port2}`];
    // The demo site's release (built once per checkout state, shared by e2e files); both servers
    // and Caddy read the same releases folder.
    env = {
      ...(await copyBuiltSite(tmp)),
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl,
      ROSE_CACHE_NAMESPACE: namespace,
      ROSE_SITE_URL: site,
      ROSE_TRUSTED_PROXIES: '127.0.0.1',
    };
    client = path.join(await fs.realpath(path.join(tmp, 'dist', 'current')), 'client');
    // A bundled asset as Astro writes them (the demo inlines its CSS, so its build has none).
    await fs.mkdir(path.join(client, '_astro'), { recursive: true });
    await fs.writeFile(path.join(client, '_astro', 'probe.B2x9fQ1a.js'), 'export const probe = 1;\n'.repeat(80));
    const migrated = await runRose(['db', 'migrate'], env, { timeoutMs: 120_000 });
    expect(migrated.code, migrated.stderr).toBe(0);

    caddyfile = path.join(tmp, 'Caddyfile');
    const written = await runRose(['caddy', 'config', '--out', caddyfile, ...upstreams.flatMap((u) => ['--upstream', u])], env);
    expect(written.code, written.stderr).toBe(0);
    // The file as written, run as it is; only the admin endpoint (off its default port, which
    // another Caddy may hold) and the log level (each proxied request logged with its server)
    // are set for the test, on Caddy's own JSON form of it.
    const adapted = spawnSync('caddy', ['adapt', '--adapter', 'caddyfile', '--config', caddyfile], { encoding: 'utf8' });
    expect(adapted.status, adapted.stderr).toBe(0);
    const json = JSON.parse(adapted.stdout) as Record<string, unknown>;
    json.admin = { listen: `127.0.0.1:${adminPort}` };
    json.logging = { logs: { default: { level: 'DEBUG', writer: { output: 'stderr' }, encoder: { format: 'json' } } } };
    await fs.writeFile(path.join(tmp, 'caddy.json'), JSON.stringify(json));

    servers = await Promise.all([port1, port2].map((port) => startRose(['serve', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], env)));
    caddy = spawn('caddy', ['run', '--config', path.join(tmp, 'caddy.json')], {
      // Caddy's own state (autosave, certificates) in the test's folder, not the user's.
      env: { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: path.join(tmp, 'caddy-data'), XDG_CONFIG_HOME: path.join(tmp, 'caddy-config') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let pending = '';
    caddy.stderr!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        try {
          caddyLog.push(JSON.parse(line) as CaddyLog);
        } catch {
          caddyLog.push({ msg: line });
        }
      }
    });
    await waitFor(async () => (await request(site, '/api/health').catch(() => undefined))?.status === 200, 30_000, () => `Caddy did not answer /api/health:\n${caddyLog.slice(-20).map((l) => JSON.stringify(l)).join('\n')}`);
    const page = (await request(site, '/blog/')).body.toString();
    island = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine

  afterAll(async () => {
    if (caddy && caddy.exitCode === null) {
      const closed = new Promise((r) => caddy!.once('close', r));
      caddy.kill('SIGTERM');
      await closed;
    }
    await Promise.all(servers.map((s) => s.stop()));
    await dropDb?.();
    const redis = new Redis(testRedisUrl);
    const keys = await redis.keys(`${namespace}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('serves pages straight from the release on disk: the brotli variant byte for byte, or the page itself', async () => {
    const br = await request(site, '/blog/', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.equals(await fs.readFile(path.join(client, 'blog', 'index.html.br')))).toBe(true);
    const plain = await request(site, '/blog/');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(await fs.readFile(path.join(client, 'blog', 'index.html')))).toBe(true);
    // Not through an app server: each of those names its release on every file it serves.
    expect((await request(servers[0]!.url, '/blog/')).headers['x-rose-release']).toBeDefined();
    expect(br.headers['x-rose-release']).toBeUndefined();
    expect(roundtrips().some((l) => l.request?.uri === '/blog/')).toBe(false);
    // Validators: a second visit revalidates to a 304.
    const again = await request(site, '/blog/', { 'Accept-Encoding': 'br', 'If-None-Match': br.headers.etag! });
    expect(again.status).toBe(304);
  });

  it('sends the caching and security headers rose serve sends (pages: inline scripts by policy, not by hash)', async () => {
    const images = (await fs.readdir(path.join(client, 'blog', 'images'))).filter((f) => f.endsWith('.jpg'));
    const targets = ['/', '/blog/', '/blog/index.html', '/blog/rss.xml', '/blog/atom.xml', '/blog/feed.json', '/blog/search-index.json', '/sitemap.xml', '/robots.txt', '/favicon.ico', '/favicon.svg', `/blog/images/${images[0]}`, '/_astro/probe.B2x9fQ1a.js'];
    const compared = ['status', 'content-type', 'content-encoding', 'cache-control', 'x-content-type-options', 'referrer-policy', 'content-security-policy', 'location'] as const;
    const pick = (r: Reply) => Object.fromEntries(compared.map((h) => [h, h === 'status' ? r.status : r.headers[h]]));
    for (const target of targets) {
      const [viaCaddy, direct] = await Promise.all([request(site, target, { 'Accept-Encoding': 'gzip, br' }), request(servers[0]!.url, target, { 'Accept-Encoding': 'gzip, br' })]);
      expect(direct.headers['x-rose-release'], target).toBeDefined();
      expect(viaCaddy.headers['x-rose-release'], `${target} came from disk`).toBeUndefined();
      const expected = pick(direct);
      // rose serve allows exactly the page's inline scripts (hashes read from the file); the
      // Caddyfile cannot, and allows inline scripts: the rest of the policy is the same.
      if (/^text\/html/.test(String(direct.headers['content-type']))) {
        expect(String(expected['content-security-policy'])).toMatch(/script-src 'self'( 'sha256-[^']+')+;/);
        expected['content-security-policy'] = caddyPagePolicy;
      }
      expect(pick(viaCaddy), target).toEqual(expected);
    }
    expect((await request(site, '/_astro/probe.B2x9fQ1a.js')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await request(site, `/blog/images/${images[0]}`)).headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('redirects folders and the build’s redirect pages as rose serve does, keeping the query', async () => {
    for (const [target, location] of [
      ['/blog', '/blog/'],
      ['/blog?x=1', '/blog/?x=1'],
      ['/blog/page/1/', '/blog/'],
      ['/blog/page/1/?ref=feed', '/blog/?ref=feed'],
    ] as const) {
      const [viaCaddy, direct] = await Promise.all([request(site, target), request(servers[0]!.url, target)]);
      expect([viaCaddy.status, viaCaddy.headers.location], target).toEqual([301, location]);
      expect([direct.status, direct.headers.location], target).toEqual([301, location]);
      expect(viaCaddy.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('passes islands, the API, other methods and paths not on disk to the app servers, with a request id', async () => {
    const before = caddyLog.length;
    const fragment = await fetch(new URL(island, site));
    expect(fragment.status).toBe(200);
    expect(await fragment.text()).toContain('Sign in');
    const health = await fetch(new URL('/api/health', site));
    expect(await health.json()).toEqual({ status: 'ok' });
    const missing = await fetch(new URL('/blog/no-such-post/', site));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Page not found');
    // A file takes only GET and HEAD: the app answers the rest as rose serve does.
    const post = await request(site, '/blog/', {}, 'POST');
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
    const proxied = roundtrips(before).map((l) => l.request!.uri);
    expect(proxied).toEqual(expect.arrayContaining([island, '/api/health', '/blog/no-such-post/']));
    for (const l of roundtrips(before)) expect(l.request!.headers!['X-Request-Id']?.[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never answers /api/metrics to the public (Prometheus asks the servers directly), and /api/ready without details', async () => {
    const before = caddyLog.length;
    // This client is on loopback, as private as can be: through Caddy it still gets 404, from
    // Caddy itself, without the request reaching an app server.
    for (const target of ['/api/metrics', '/api/metrics?x=1']) {
      const viaCaddy = await request(site, target);
      expect([viaCaddy.status, viaCaddy.body.toString()], target).toEqual([404, 'Not found']);
      expect(viaCaddy.headers['cache-control']).toBe('no-store');
      expect(viaCaddy.body.toString()).not.toContain('rose_');
    }
    expect(roundtrips(before).map((l) => l.request!.uri)).not.toContain('/api/metrics');
    const direct = await request(`http://${upstreams[0]}`, '/api/metrics');
    expect(direct.status).toBe(200);
    expect(direct.body.toString()).toContain('rose_http_request_duration_seconds');
    // Readiness through Caddy: what a deploy needs (status, release), not the details.
    const ready = await request(site, '/api/ready');
    expect(ready.status).toBe(200);
    const body = JSON.parse(ready.body.toString()) as { status: string; release: string; checks: Record<string, unknown> };
    expect(body).toEqual({ status: 'ready', release: expect.any(String), checks: { database: { ok: true }, cache: { ok: true }, migrations: { ok: true }, release: { ok: true } } });
    expect(JSON.parse((await request(`http://${upstreams[0]}`, '/api/ready')).body.toString())).toMatchObject({ checks: { database: { ok: true, detail: 'answered' } } });
  });

  it('spreads requests over both servers', async () => {
    const before = caddyLog.length;
    for (let i = 0; i < 20; i++) expect((await fetch(new URL(island, site))).status).toBe(200);
    const served = roundtrips(before).filter((l) => !l.error);
    for (const upstream of upstreams) expect(served.filter((l) => l.upstream === upstream).length, upstream).toBeGreaterThanOrEqual(5);
  });

  it('one server killed mid-load: no static request fails, only dynamic ones in flight at the kill may', async () => {
    const files = {
      '/blog/': await fs.readFile(path.join(client, 'blog', 'index.html')),
      '/blog/rss.xml': await fs.readFile(path.join(client, 'blog', 'rss.xml')),
      '/_astro/probe.B2x9fQ1a.js': await fs.readFile(path.join(client, '_astro', 'probe.B2x9fQ1a.js')),
    };
    const mix: { kind: 'static' | 'dynamic'; target: string }[] = [
      { kind: 'static', target: '/blog/' },
      { kind: 'dynamic', target: island },
      { kind: 'static', target: '/blog/rss.xml' },
      { kind: 'dynamic', target: '/api/health' },
      { kind: 'static', target: '/_astro/probe.B2x9fQ1a.js' },
      { kind: 'dynamic', target: island },
    ];
    const total = 420;
    const killAfter = 120;
    const victim = servers[1]!;
    const results: { kind: string; target: string; start: number; end: number; ok: boolean; problem?: string }[] = [];
    let next = 0;
    let killedAt = Number.POSITIVE_INFINITY;
    const logAtKill = { index: 0 };
    const worker = async () => {
      while (next < total) {
        const i = next++;
        if (i === killAfter) {
          logAtKill.index = caddyLog.length;
          killedAt = performance.now();
          victim.child.kill('SIGKILL');
        }
        const { kind, target } = mix[i % mix.length]!;
        const start = performance.now();
        try {
          const res = await fetch(new URL(target, site));
          const body = Buffer.from(await res.arrayBuffer());
          const expected = files[target as keyof typeof files];
          const ok = res.status === 200 && (expected ? body.equals(expected) : target === island ? body.includes('Sign in') : body.includes('"status":"ok"'));
          results.push({ kind, target, start, end: performance.now(), ok, ...(ok ? {} : { problem: `${res.status} ${body.subarray(0, 200).toString()}` }) });
        } catch (error) {
          results.push({ kind, target, start, end: performance.now(), ok: false, problem: String((error as Error).cause ?? error) });
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    expect(await victim.stop()).toBeNull(); // killed, no exit code
    expect(results).toHaveLength(total);
    const failed = results.filter((r) => !r.ok);
    expect(failed.filter((r) => r.kind === 'static')).toEqual([]);
    // A dynamic request may fail only when it was under way as the server died.
    expect(failed.filter((r) => !(r.start < killedAt && r.end > killedAt))).toEqual([]);
    // Both servers had requests before the kill; after it, the dead one answered none.
    const beforeKill = caddyLog.slice(0, logAtKill.index).filter((l) => l.msg === 'upstream roundtrip' && !l.error);
    for (const upstream of upstreams) expect(beforeKill.some((l) => l.upstream === upstream), upstream).toBe(true);
    const victimUpstream = upstreams[1]!;
    // Once Caddy's health check has found it down, every request goes to the other server.
    await expect
      .poll(() => caddyLog.some((l) => l.logger?.includes('health_checker') && l.host === victimUpstream && l.msg !== 'host is up'), { timeout: 20_000, interval: 200 })
      .toBe(true);
    const after = caddyLog.length;
    const statuses = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await fetch(new URL(i % 2 ? island : '/api/health', site))).status));
    expect(statuses.every((s) => s === 200), statuses.join(',')).toBe(true);
    expect(roundtrips(after).map((l) => `${l.upstream}${l.error ? ` failed: ${l.error}` : ''}`)).toEqual(roundtrips(after).map(() => upstreams[0]));
  });

  it('writes a valid Caddyfile for a site with parts on their own hosts', async () => {
    const file = path.join(tmp, 'Caddyfile.parts');
    const written = await runRose(['caddy', 'config', '--out', file, '--upstream', '10.0.0.5:4321', '--upstream', 'app2.internal:4321', '--dist', '/srv/rose/dist'], {
      ...env,
      ROSE_SITE_URL: 'https://coop.example',
      ROSE_PART_ORIGINS: 'market=https://market.coop.example,https://events.coop.example',
    });
    expect(written.code, written.stderr).toBe(0);
    const validated = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: path.join(tmp, 'caddy-data'), XDG_CONFIG_HOME: path.join(tmp, 'caddy-config') } });
    expect(validated.status, validated.stderr).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toMatch(/^https:\/\/market\.coop\.example \{$/m);
  });
});

/** Polls `condition` until it holds; throws `what()` when `timeoutMs` passes first. */
async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `n` different free ports. */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
