import { describe, expect, it } from 'vitest';
import { loadConfig, withListenOrigin } from './config.ts';
import { isTrustedProxy, listenOrigin, requestOrigin, siteOriginRedirect } from './site-origin.ts';

const root = '/srv/rose';

describe('the site origin', () => {
  it('follows the listen address when ROSE_SITE_URL is unset, and only then', () => {
    const unset = loadConfig({}, { root });
    expect(unset.siteUrlExplicit).toBe(false);
    expect(withListenOrigin(unset, listenOrigin('127.0.0.1', 8080)).siteUrl).toBe('http://127.0.0.1:8080');
    expect(withListenOrigin(unset, listenOrigin('0.0.0.0', 8080)).siteUrl).toBe('http://localhost:8080');
    expect(withListenOrigin(unset, listenOrigin('::1', 8080)).siteUrl).toBe('http://[::1]:8080');
    expect(Object.isFrozen(withListenOrigin(unset, 'http://127.0.0.1:8080'))).toBe(true);
    const set = loadConfig({ ROSE_SITE_URL: 'https://coop.example.org' }, { root });
    expect(set.siteUrlExplicit).toBe(true);
    expect(withListenOrigin(set, 'http://127.0.0.1:8080').siteUrl).toBe('https://coop.example.org');
  });

  it('validates ROSE_TRUSTED_PROXIES (IPs and CIDR ranges, none by default)', () => {
    expect(loadConfig({}, { root }).trustedProxies).toEqual([]);
    expect(loadConfig({ ROSE_TRUSTED_PROXIES: ' 127.0.0.1, 10.0.0.0/8,::1 , fd00::/8' }, { root }).trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.1/8/1', '127.0.0.1,', '300.1.1.1', '*']) {
      expect(() => loadConfig({ ROSE_TRUSTED_PROXIES: bad }, { root }), bad).toThrow(/ROSE_TRUSTED_PROXIES: expected IP addresses or CIDR ranges/);
    }
  });

  it('believes X-Forwarded-Host and -Proto from trusted proxies only', () => {
    const trusted = loadConfig({ ROSE_TRUSTED_PROXIES: '10.0.0.0/8,::1' }, { root });
    const forged = { origin: 'http://127.0.0.1:4321', forwardedHost: 'evil.example', forwardedProto: 'https' };
    expect(requestOrigin(loadConfig({}, { root }), { ...forged, remoteAddress: '127.0.0.1' })).toBe('http://127.0.0.1:4321');
    expect(requestOrigin(trusted, { ...forged, remoteAddress: '192.168.1.5' })).toBe('http://127.0.0.1:4321');
    expect(requestOrigin(trusted, { ...forged, remoteAddress: '10.1.2.3' })).toBe('https://evil.example');
    expect(requestOrigin(trusted, { ...forged, remoteAddress: '::ffff:10.1.2.3' })).toBe('https://evil.example');
    expect(requestOrigin(trusted, { ...forged, remoteAddress: '::1', forwardedHost: 'coop.example, proxy.internal' })).toBe('https://coop.example');
    // A forwarded host that is not a host is ignored; the proto still counts.
    expect(requestOrigin(trusted, { ...forged, remoteAddress: '10.0.0.1', forwardedHost: 'a/b@c' })).toBe('https://127.0.0.1:4321');
    expect(isTrustedProxy([], '127.0.0.1')).toBe(false);
    expect(isTrustedProxy(['127.0.0.1'], undefined)).toBe(false);
  });

  it('sends sign-in, account and provider requests on another origin to the site origin (308, or 421 for other methods)', () => {
    const site = { siteUrl: 'http://localhost:4321', partOrigins: ['https://blog.coop.example'] };
    expect(siteOriginRedirect(site, { method: 'GET', origin: 'http://127.0.0.1:4321', path: '/auth/login?return_to=%2Fblog%2F' })).toEqual({
      status: 308,
      location: 'http://localhost:4321/auth/login?return_to=%2Fblog%2F',
      text: 'This page is at http://localhost:4321/auth/login?return_to=%2Fblog%2F\n',
    });
    expect(siteOriginRedirect(site, { method: 'HEAD', origin: 'http://localhost:8080', path: '/account/' })?.status).toBe(308);
    expect(siteOriginRedirect(site, { method: 'GET', origin: undefined, path: '/auth' })?.location).toBe('http://localhost:4321/auth');
    const post = siteOriginRedirect(site, { method: 'POST', origin: 'http://127.0.0.1:4321', path: '/auth/login' });
    expect(post?.status).toBe(421);
    expect(post?.text).not.toMatch(/rose |npx|--/); // no CLI instructions for visitors
    // Served where they are: the site's own origin (whatever the scheme, which is the proxy's
    // business), a part's host, and every other path.
    expect(siteOriginRedirect(site, { method: 'GET', origin: 'http://localhost:4321', path: '/auth/login' })).toBeUndefined();
    expect(siteOriginRedirect({ ...site, siteUrl: 'https://coop.example' }, { method: 'POST', origin: 'http://coop.example:443', path: '/auth/login' })).toBeUndefined();
    expect(siteOriginRedirect(site, { method: 'GET', origin: 'https://blog.coop.example', path: '/auth/sso/start' })).toBeUndefined();
    expect(siteOriginRedirect(site, { method: 'GET', origin: 'http://127.0.0.1:4321', path: '/blog/' })).toBeUndefined();
    expect(siteOriginRedirect(site, { method: 'GET', origin: 'http://127.0.0.1:4321', path: '/authors/' })).toBeUndefined();
  });
});
