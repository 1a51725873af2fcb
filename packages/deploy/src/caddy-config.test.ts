import { describe, expect, it } from 'vitest';
import { RoseError } from '@rose/core';
import { caddyPagePolicy, createCaddyConfig, dynamicPaths, type CaddyConfigInput } from './caddy-config.ts';

const base: CaddyConfigInput = { siteUrl: 'https://coop.example', upstreams: ['10.0.0.5:4321'], distDir: '/srv/rose/dist' };

/** The body of the first `{ … }` block opened by a line starting with `head`. */
function block(text: string, head: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(head));
  expect(start, `no block starting with ${head}`).toBeGreaterThanOrEqual(0);
  let depth = 0;
  const out: string[] = [];
  for (const line of lines.slice(start)) {
    out.push(line);
    depth += (line.match(/\{$/g)?.length ?? 0) - (line.trim() === '}' ? 1 : 0);
    if (depth === 0) break;
  }
  return out.join('\n');
}

function failure(input: CaddyConfigInput): RoseError {
  try {
    createCaddyConfig(input);
  } catch (error) {
    if (error instanceof RoseError) return error;
    throw error;
  }
  throw new Error('expected createCaddyConfig to refuse the input');
}

describe('createCaddyConfig', () => {
  it('one origin: a site block serving the live release from disk and the rest from the app', () => {
    const text = createCaddyConfig(base);
    expect(text.match(/^https:\/\/coop\.example \{$/gm)).toHaveLength(1);
    const site = block(text, '(rose_site)');
    expect(site).toContain('\troot * /srv/rose/dist/current/client\n');
    // Pages (/blog/ → blog/index.html) and files from disk, with the build's brotli/gzip variants.
    const page = block(site, '@page {');
    expect(page).toContain('path */');
    expect(page).toContain('file {path}index.html');
    expect(block(site, 'handle @page')).toContain('precompressed br gzip');
    expect(block(site, 'handle @page')).toContain('\t\t\tCache-Control "public, no-cache"\n');
    const fileCaching = block(site, 'map {path} {rose_cache} {rose_policy}');
    expect(fileCaching).toContain('\t~^/_astro/ "public, max-age=31536000, immutable" "default-src \'none\';');
    expect(fileCaching).toMatch(/\t~\\\.\[0-9a-f\]\{16,64\}\\\.\[a-z0-9\]\+\$ "public, max-age=31536000, immutable"/);
    expect(fileCaching).toContain('\tdefault "public, max-age=300"');
    // Security headers on what Caddy answers itself.
    for (const head of ['handle @page', 'handle @file', 'handle @folder', 'handle /blog/page/1/']) {
      const headers = block(block(site, head), 'header {');
      expect(headers).toContain('\t\t\tX-Content-Type-Options "nosniff"\n');
      expect(headers).toContain('\t\t\tReferrer-Policy "strict-origin-when-cross-origin"\n');
      expect(headers).toContain('\t\t\tContent-Security-Policy "');
    }
    expect(block(site, 'handle @page')).toContain(`Content-Security-Policy "${caddyPagePolicy}"`);
    expect(caddyPagePolicy).toContain("frame-ancestors 'self'");
    expect(caddyPagePolicy).toContain("script-src 'self' 'unsafe-inline';");
    // Dynamic paths skip the disk; what is left goes to the app last.
    for (const head of ['@page {', '@file {', '@folder {']) expect(block(site, head)).toContain(`not path ${dynamicPaths().join(' ')}`);
    expect(site.trimEnd().split('\n').slice(-4).join('\n')).toBe('\thandle {\n\t\timport rose_app\n\t}\n}');
    const app = block(text, '(rose_app)');
    expect(app).toContain('\treverse_proxy 10.0.0.5:4321 {');
    expect(app).toContain('lb_policy round_robin');
    expect(app).toContain('health_uri /api/health');
    // The metrics are never answered to the public: Caddy says 404 itself, before anything else.
    const metrics = block(site, 'handle /api/metrics {');
    expect(metrics).toContain('\t\trespond "Not found" 404\n');
    expect(metrics).toContain('\t\t\tCache-Control "no-store"\n');
    expect(metrics).toContain('\t\t\tX-Content-Type-Options "nosniff"\n');
    expect(site.indexOf('handle /api/metrics {')).toBeLessThan(site.indexOf('handle {'));
    expect(text).toMatch(/^# \/api\/metrics is not answered here \(404\): Prometheus scrapes each app server directly/m);
    expect(app).toContain('lb_try_duration 5s');
    expect(app).toContain('fail_duration 10s');
    expect(app).toContain('header_up X-Request-Id {http.request.uuid}');
    // The header says what the app servers need.
    expect(text).toContain('ROSE_TRUSTED_PROXIES');
    expect(text).toContain('ASTRO_KEY');
    expect(text).toContain('--upstream 10.0.0.5:4321 --dist /srv/rose/dist');
  });

  it('proxies islands, sign-in, account, cart, social, the API and well-known endpoints', () => {
    expect(dynamicPaths()).toEqual(
      expect.arrayContaining(['/_server-islands/*', '/auth', '/auth/*', '/account', '/account/*', '/cart/*', '/social/*', '/api/*', '/.well-known/*', '/nodeinfo/*', '/ap/*', '/market/manage/*']),
    );
  });

  it('several part origins: one site block each, named in the header, duplicates once', () => {
    const text = createCaddyConfig({
      ...base,
      upstreams: ['app1.internal:4321', '[fd00::6]:4321', '10.0.0.7:8080'],
      partOrigins: ['https://market.coop.example', 'https://events.coop.example:8443', 'https://market.coop.example/'],
      partHosts: { market: 'https://market.coop.example' },
    });
    expect(text.match(/^https:\/\/[^ ]+ \{$/gm)).toEqual(['https://coop.example {', 'https://market.coop.example {', 'https://events.coop.example:8443 {']);
    expect(text.match(/^\timport rose_site$/gm)).toHaveLength(3);
    expect(text).toMatch(/^# {3}https:\/\/market\.coop\.example +the market part/m);
    expect(text).toMatch(/^# {3}https:\/\/events\.coop\.example:8443 +a part host/m);
    expect(block(text, '(rose_app)')).toContain('\treverse_proxy app1.internal:4321 [fd00::6]:4321 10.0.0.7:8080 {');
  });

  it('refuses app servers that are not host:port, with every problem named', () => {
    const error = failure({ ...base, upstreams: ['http://10.0.0.5:4321', '10.0.0.5', 'app:0', 'app:70000', 'a b:80', 'app.internal:4321'] });
    expect(error.code).toBe('bad-argument');
    expect(error.message).toMatchInlineSnapshot(`
      "--upstream[0]: expected host:port (e.g. 10.0.0.5:4321, app1.internal:4321 or [fd00::5]:4321), got "http://10.0.0.5:4321"
      --upstream[1]: expected host:port (e.g. 10.0.0.5:4321, app1.internal:4321 or [fd00::5]:4321), got "10.0.0.5"
      --upstream[2]: expected host:port (e.g. 10.0.0.5:4321, app1.internal:4321 or [fd00::5]:4321), got "app:0"
      --upstream[3]: expected host:port (e.g. 10.0.0.5:4321, app1.internal:4321 or [fd00::5]:4321), got "app:70000"
      --upstream[4]: expected host:port (e.g. 10.0.0.5:4321, app1.internal:4321 or [fd00::5]:4321), got "a b:80""
    `);
    expect(failure({ ...base, upstreams: [] }).message).toMatchInlineSnapshot(`"--upstream: give at least one app server (host:port)"`);
    expect(failure({ ...base, upstreams: ['10.0.0.5:4321', '10.0.0.5:4321'] }).message).toMatchInlineSnapshot(`"--upstream: an app server is listed twice"`);
  });

  it('refuses an app server at the address Caddy itself listens on', () => {
    expect(failure({ ...base, siteUrl: 'http://127.0.0.1:8080', upstreams: ['127.0.0.1:8080'] }).message).toMatchInlineSnapshot(
      `"The app server 127.0.0.1:8080 is the address Caddy itself would listen on for http://127.0.0.1:8080: Caddy would pass requests to itself."`,
    );
    expect(failure({ ...base, upstreams: ['coop.example:443'] }).message).toContain('Caddy would pass requests to itself');
  });

  it('refuses origins with a path and releases folders it cannot write into a Caddyfile', () => {
    expect(failure({ ...base, partOrigins: ['https://market.coop.example/market'] }).message).toMatchInlineSnapshot(
      `"ROSE_PART_ORIGINS[0]: expected an http(s) origin without a path, like https://coop.example.org, got "https://market.coop.example/market""`,
    );
    expect(failure({ ...base, distDir: 'dist' }).message).toMatchInlineSnapshot(`"--dist: expected an absolute path, e.g. /srv/rose/dist"`);
    expect(failure({ ...base, distDir: '/srv/my site/dist' }).message).toMatchInlineSnapshot(
      `"--dist: expected a path of letters, digits and . _ / @ + - only (no spaces, quotes or braces)"`,
    );
  });
});
