import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuiltSite, freePort, launchBrowser, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

// `rose build` writes brotli/gzip variants into the release; `rose serve` answers static files
// from them before Astro (ETags, ranges, CSP, methods), and compresses what Astro renders.
describe('static files through rose serve (a real built release)', () => {
  let tmp: string;
  let env: Record<string, string>;
  let server: RunningRose;
  let client: string;

  const request = (target: string, opts: { method?: string; headers?: Record<string, string> } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const url = new URL(server.url);
      const req = http.request({ host: url.hostname, port: url.port, path: target, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });

  beforeAll(async () => {
    tmp = await makeProjectTempDir('static-serve');
    // The demo site, migrated, seeded and built once per checkout state (shared by e2e files).
    env = await copyBuiltSite(tmp);
    client = path.join(await fs.realpath(path.join(tmp, 'dist', 'current')), 'client');
    server = await startRose(['serve', '--port', String(await freePort()), '--host', '127.0.0.1', '--no-worker'], env);
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine

  afterAll(async () => {
    await server?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('the build leaves brotli and gzip variants beside the pages and feeds', async () => {
    const html = await fs.readFile(path.join(client, 'blog', 'index.html'));
    expect(zlib.brotliDecompressSync(await fs.readFile(path.join(client, 'blog', 'index.html.br'))).equals(html)).toBe(true);
    expect(zlib.gunzipSync(await fs.readFile(path.join(client, 'blog', 'index.html.gz'))).equals(html)).toBe(true);
    await fs.access(path.join(client, 'blog', 'rss.xml.br'));
    await fs.access(path.join(client, 'sitemap.xml.gz'));
  });

  it('serves a page as its brotli variant, byte for byte, with validators and security headers', async () => {
    const res = await request('/blog/', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.body.equals(await fs.readFile(path.join(client, 'blog', 'index.html.br')))).toBe(true);
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.headers['cache-control']).toBe('public, no-cache');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self' 'sha256-[^']+' 'sha256-[^']+';/);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    const again = await request('/blog/', { headers: { 'Accept-Encoding': 'br', 'If-None-Match': res.headers.etag! } });
    expect(again.status).toBe(304);
    const range = await request('/blog/', { headers: { Range: 'bytes=0-14' } });
    expect(range.status).toBe(206);
    expect(range.body.toString()).toBe('<!DOCTYPE html>');
  });

  it('redirects /blog to /blog/ and refuses methods before any route runs', async () => {
    const redirect = await request('/blog?x=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/blog/?x=1');
    const post = await request('/blog/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    for (const target of ['/blog/', '/api/health', '/_server-islands/AccountMenu', '/auth/.well-known/openid-configuration']) {
      expect((await request(target, { method: 'TRACE' })).status, target).toBe(405);
      expect((await request(target, { method: 'PROPFIND' })).status, target).toBe(501);
    }
    expect((await request('/blog/%2e%2e/%2e%2e/package.json')).status).toBe(400);
    expect((await request('/blog/../../package.json')).status).toBe(400);
  });

  it('passes islands and on-demand pages to Astro, compressed when they are large enough', async () => {
    const page = (await request('/blog/')).body.toString();
    const island = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    const fragment = await request(island, { headers: { 'Accept-Encoding': 'br' } });
    expect(fragment.status).toBe(200);
    expect(fragment.body.toString()).toContain('Sign in');
    expect(fragment.headers['x-content-type-options']).toBe('nosniff');
    const login = await request('/auth/login', { headers: { 'Accept-Encoding': 'br' } });
    expect(login.status).toBe(200);
    expect(login.headers['content-encoding']).toBe('br');
    expect(zlib.brotliDecompressSync(login.body).toString()).toContain('<form');
    expect(login.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const missing = await request('/blog/no-such-post/', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(missing.status).toBe(404);
    expect(zlib.gunzipSync(missing.body).toString()).toContain('Page not found');
  });

  describe('in a browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('the island and the search script run under the pages’ CSP, with no violation', async () => {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(new URL('/blog/', server.url).toString());
      await expect.poll(() => page.locator('[data-testid="sign-in"]').count(), { timeout: 10_000 }).toBe(1);
      await page.goto(new URL('/blog/search/', server.url).toString());
      await page.fill('#q', 'sourdough');
      await expect.poll(() => page.locator('#search-results li a').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(violations).toEqual([]);
      await page.close();
    });

    it('a script the build did not write is blocked', async () => {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(new URL('/blog/', server.url).toString());
      const ran = await page.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = 'window.injected = true;';
        document.body.append(s);
        return (window as unknown as { injected?: boolean }).injected === true;
      });
      expect(ran).toBe(false);
      await expect.poll(() => violations.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await page.close();
    });
  });

  it('serves the files of a new release once it is live', async () => {
    const releaseOf = async () => (await request('/blog/')).headers['x-rose-release'];
    const before = await releaseOf();
    const build = await runRose(['build'], env, { timeoutMs: 240_000 });
    expect(build.code, build.stderr).toBe(0);
    await expect.poll(releaseOf, { timeout: 10_000, interval: 200 }).not.toBe(before);
    const res = await request('/blog/', { headers: { 'Accept-Encoding': 'br' } });
    const live = path.join(await fs.realpath(path.join(tmp, 'dist', 'current')), 'client');
    expect(res.body.equals(await fs.readFile(path.join(live, 'blog', 'index.html.br')))).toBe(true);
  });
});
