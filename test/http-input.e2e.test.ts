import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuiltSite, freePort, httpRequest, makeProjectTempDir, startRose, type RunningRose } from '@rose/testing';

// What the on-demand routes accept, over HTTP against `rose serve`: one rule set in the
// middleware gives every route a body size limit (413), the body types it reads (415) and
// its methods (405), so no input reaches a page that would fail with a 500.
describe('on-demand routes refuse what they cannot take', () => {
  let tmp: string;
  let server: RunningRose;
  let origin: string;
  const form = 'application/x-www-form-urlencoded';
  const url = (p: string) => new URL(p, server.url);
  const mailFiles = async () => (await fs.readdir(path.join(tmp, '.rose', 'mail')).catch(() => [] as string[])).sort();

  beforeAll(async () => {
    tmp = await makeProjectTempDir('http-input');
    const port = await freePort();
    // The demo site, migrated, seeded and built once per checkout state (shared by e2e files).
    const env = { ...(await copyBuiltSite(tmp)), ROSE_SITE_URL: `http://127.0.0.1:${port}` };
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
    origin = new URL(server.url).origin;
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine
  afterAll(async () => {
    await server?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('a body over the limit gets 413, whether its length is declared or not, and creates no account', async () => {
    const big = new URLSearchParams({ name: 'x'.repeat(70 * 1024), email: 'big@example.org', password: 'Kettle-orchard-passphrase-7' }).toString();
    const sized = await fetch(url('/auth/signup'), { method: 'POST', headers: { 'content-type': form, origin }, body: big });
    expect(sized.status).toBe(413);
    expect(sized.statusText).toBe('Content Too Large');
    expect(await sized.text()).toContain('larger than this address accepts (64 KB)');
    // 50 MB announced: refused on the headers alone, and the connection is closed.
    const declared = await httpRequest(url('/auth/signup'), { method: 'POST', headers: { 'content-type': form, origin, 'content-length': String(50 * 1024 * 1024) }, headersOnly: true });
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    // No length at all (chunked): counted while read.
    const chunks = Array.from({ length: 8 }, (_, i) => Buffer.from(i === 0 ? 'email=big%40example.org&password=Kettle-orchard-passphrase-7&name=' : 'y'.repeat(16 * 1024)));
    const chunked = await httpRequest(url('/auth/signup'), { method: 'POST', headers: { 'content-type': form, origin }, body: chunks });
    expect(chunked.status).toBe(413);
    // None of them made an account: signing up now is a first signup (a confirmation link,
    // not the "already has an account" notice).
    const before = await mailFiles();
    const ok = await fetch(url('/auth/signup'), { method: 'POST', headers: { 'content-type': form, origin }, body: new URLSearchParams({ name: 'Big', email: 'big@example.org', password: 'Kettle-orchard-passphrase-7' }) });
    expect(ok.status).toBe(200);
    let mail: string | undefined;
    await expect
      .poll(async () => {
        mail = (await mailFiles()).find((f) => !before.includes(f) && f.endsWith('-big@example.org.eml'));
        return mail;
      }, { timeout: 15_000, interval: 100 })
      .toBeDefined();
    expect(await fs.readFile(path.join(tmp, '.rose', 'mail', mail!), 'utf8')).toContain('Subject: Confirm your email address');
  });

  it('JSON, plain text or no type posted to a form page gets 415 naming what it takes', async () => {
    for (const [type, body] of [
      ['application/json', JSON.stringify({ email: 'x@example.org', password: 'whatever-it-is' })],
      ['text/plain', 'email=x'],
    ] as const) {
      const res = await fetch(url('/auth/signup'), { method: 'POST', headers: { 'content-type': type, origin }, body });
      expect(res.status, type).toBe(415);
      expect(res.headers.get('accept')).toBe('application/x-www-form-urlencoded, multipart/form-data');
      expect(await res.text()).toContain(`A ${type} body is not accepted here`);
    }
    const untyped = await httpRequest(url('/auth/login'), { method: 'POST', headers: { origin, 'content-length': '7' }, body: 'email=x' });
    expect(untyped.status).toBe(415);
    // The webhook takes JSON only.
    expect((await fetch(url('/api/ghost/webhook'), { method: 'POST', headers: { 'content-type': form }, body: 'a=b' })).status).toBe(415);
  });

  it('a form whose body does not match its Content-Type gets 400, and a real multipart form works', async () => {
    const broken = await fetch(url('/auth/login'), { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=abc', origin }, body: 'not multipart at all' });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain('The form could not be read');
    const data = new FormData();
    data.set('email', 'nobody@example.org');
    data.set('password', 'not-the-password');
    const multipart = await fetch(url('/auth/login'), { method: 'POST', headers: { origin }, body: data });
    expect(multipart.status).toBe(401);
  });

  it('unsupported methods get 405 with Allow (TRACE too, anywhere); OPTIONS lists the methods', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await httpRequest(url('/auth/login'), { method, headers: { origin } });
      expect(res.status, method).toBe(405);
      expect(res.statusText).toBe('Method Not Allowed');
      expect(res.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
      expect(res.text).toContain(`${method} is not allowed here; this address accepts GET, HEAD, POST.`);
    }
    // A method no route has at all may be refused before routing as not implemented.
    expect([405, 501]).toContain((await httpRequest(url('/auth/login'), { method: 'PROPFIND', headers: { origin } })).status);
    const health = await fetch(url('/api/health'), { method: 'POST', headers: { 'content-type': form, origin }, body: 'a=b' });
    expect(health.status).toBe(405);
    expect(health.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect((await fetch(url('/auth/logout'))).status).toBe(405);
    for (const p of ['/auth/login', '/blog/', '/api/health']) {
      const trace = await httpRequest(url(p), { method: 'TRACE' });
      expect(trace.status, p).toBe(405);
      expect(trace.headers.allow).toContain('GET');
    }
    const options = await httpRequest(url('/auth/signup'), { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
  });

  it('no input reaches a 500, and nothing is logged as a crash', async () => {
    const routes = ['/auth/login', '/auth/signup', '/auth/reset', '/auth/reset/confirm', '/auth/verify', '/auth/email-change', '/account/', '/auth/logout', '/auth/sso/start', '/auth/sso/callback', '/auth/sso/backchannel', '/api/health', '/api/ghost/webhook'];
    const odd = { email: 'a@b\u0000.c', password: '\u{1F339}'.repeat(300), name: '<script>', token: 'z'.repeat(5000), return_to: '//evil.example', logout_token: 'e.y.j', action: 'change-email', grant: "' or 1=1" };
    const query = '?token=%00%ff%fe&return_to=%2F%2Fevil.example&code=x&state=y&error=access_denied';
    const statuses: string[] = [];
    for (const route of routes) {
      const attempts: { method: string; headers?: Record<string, string>; body?: string | Buffer }[] = [
        { method: 'GET' },
        { method: 'HEAD' },
        { method: 'POST', headers: { 'content-type': form, origin }, body: new URLSearchParams(odd).toString() + '&email=second&%zz=1' },
        { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: '{"email": ' },
        { method: 'POST', headers: { 'content-type': 'multipart/form-data', origin }, body: '--x\r\n' },
        { method: 'POST', headers: { 'content-type': form }, body: 'a=b' }, // no Origin
        { method: 'DELETE', headers: { origin } },
        { method: 'TRACE' },
      ];
      for (const a of attempts) {
        const res = await httpRequest(url(route + query), { method: a.method, headers: a.headers ?? {}, ...(a.body === undefined ? {} : { body: a.body }) });
        statuses.push(`${a.method} ${route} ${a.headers?.['content-type'] ?? ''} -> ${res.status}`);
      }
    }
    // 503 is the webhook saying Ghost is not configured here; nothing else is 5xx.
    expect(statuses.filter((s) => / -> 5\d\d$/.test(s) && !/^POST \/api\/ghost\/webhook application\/json -> 503$/.test(s))).toEqual([]);
    expect(server.output()).not.toMatch(/Could not render|Internal Server Error|\n\s+at .+:\d+:\d+/);
  });
});
