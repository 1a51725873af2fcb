import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { createLinks, isSiteOnlyPath, linkPaths } from './part-links.ts';

describe('createLinks', () => {
  it('on a single origin, gives every part its paths and absolute URLs there', () => {
    const links = createLinks({ siteUrl: 'https://coop.example/' });
    expect(links.siteUrl).toBe('https://coop.example');
    expect(links.account.home()).toBe('/account/');
    expect(links.auth.login()).toBe('/auth/login');
    expect(links.auth.login('/account/')).toBe('/auth/login?return_to=%2Faccount%2F');
    expect(links.auth.url.verify('a b')).toBe('https://coop.example/auth/verify?token=a%20b');
    expect(links.auth.url.resetConfirm('t')).toBe('https://coop.example/auth/reset/confirm?token=t');
    expect(links.auth.url.emailChange('t')).toBe('https://coop.example/auth/email-change?token=t');
    expect(links.auth.ssoStart('/blog/')).toBe('/auth/sso/start?return_to=%2Fblog%2F');
    expect(links.provider.interaction('u1')).toBe('/auth/interaction/u1');
    expect(links.api.url.ghostWebhook()).toBe('https://coop.example/api/ghost/webhook');
    expect(links.blog.post('hello')).toBe('/blog/hello/');
    expect(links.blog.url.rss()).toBe('https://coop.example/blog/rss.xml');
    expect(links.market.url.home()).toBe('https://coop.example/market/');
    expect(links.site.url.sitemap()).toBe('https://coop.example/sitemap.xml');
    for (const group of Object.keys(linkPaths) as (keyof typeof linkPaths)[]) expect(links.origin(group)).toBe('https://coop.example');
  });

  it('puts a part on its own host: same paths, absolute URLs on that host; sign-in stays on the site', () => {
    const links = createLinks({ siteUrl: 'https://coop.example', partHosts: { market: 'https://market.coop.example/', blog: 'http://blog.localhost:4322' } });
    expect(links.market.home()).toBe('/market/');
    expect(links.market.url.home()).toBe('https://market.coop.example/market/');
    expect(links.blog.url.post('x')).toBe('http://blog.localhost:4322/blog/x/');
    expect(links.origin('blog')).toBe('http://blog.localhost:4322');
    expect(links.auth.url.login()).toBe('https://coop.example/auth/login');
    expect(links.events.url.home()).toBe('https://coop.example/events/');
  });

  it('tells sign-in and account paths (site origin only) from the rest', () => {
    for (const path of ['/auth', '/auth/login', '/auth?x=1', '/account/', linkPaths.auth.verify('t')]) expect(isSiteOnlyPath(path), path).toBe(true);
    for (const path of ['/authors/', '/accounts', '/blog/auth/', '/', linkPaths.blog.home()]) expect(isSiteOnlyPath(path), path).toBe(false);
  });

  it('refuses bad input with a ConfigError that says what to do', () => {
    expect(() => createLinks({ siteUrl: 'coop.example' })).toThrow(ConfigError);
    expect(() => createLinks({ siteUrl: 'https://coop.example/site' })).toThrow(/without a path/);
    expect(() => createLinks({ siteUrl: 'ftp://coop.example' })).toThrow(/http\(s\) origin/);
    expect(() => createLinks({ siteUrl: 'https://coop.example', partHosts: { auth: 'https://auth.coop.example' } })).toThrow(/site's origin/);
    expect(() => createLinks({ siteUrl: 'https://coop.example', partHosts: { account: 'https://a.coop.example' } })).toThrow(ConfigError);
    expect(() => createLinks({ siteUrl: 'https://coop.example', partHosts: { shop: 'https://shop.coop.example' } as never })).toThrow(/not a part/);
    expect(() => createLinks({ siteUrl: 'https://coop.example', partHosts: { market: 'https://m.coop.example/market/' } })).toThrow(/part "market"/);
  });
});
