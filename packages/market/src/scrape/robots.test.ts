import { afterEach, describe, expect, it } from 'vitest';
import { createPageFetcher } from '@rose/http';
import { startFixtureSite, type FixtureSite, type Route } from './fixtures/site-server.ts';
import { createHostLimiter } from './host-limiter.ts';
import { createRobots } from './robots.ts';

const sites: FixtureSite[] = [];
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});

async function site(robots: Route | undefined) {
  const s = await startFixtureSite(robots ? { '/robots.txt': robots } : {});
  sites.push(s);
  return s;
}

const text = (body: string): Route => ({ headers: { 'content-type': 'text/plain' }, body });
const fetcher = createPageFetcher({ allowPrivateAddresses: true, contactUrl: 'https://coop.example/bot', timeoutMs: 2000 });

describe('robots.txt', () => {
  it('honours Disallow and Allow for our User-Agent, reading the file once', async () => {
    const s = await site(text('User-agent: *\nDisallow: /\n\nUser-agent: RoseAsh-MarketBot\nDisallow: /cart\nDisallow: /products/secret\nAllow: /products/secret/ok\n'));
    const robots = createRobots({ fetcher, allowedHosts: [s.host] });
    const check = async (path: string) => (await robots.check(new URL(`${s.origin}${path}`))).allowed;
    expect(await Promise.all(['/products/honey', '/cart', '/cart/add', '/products/secret', '/products/secret/ok'].map(check))).toEqual([true, false, false, false, true]);
    expect(await robots.check(new URL(`${s.origin}/cart`))).toEqual({ allowed: false, reason: 'disallowed', message: `${s.origin}/cart: ${s.origin}/robots.txt disallows it for RoseAsh-MarketBot` });
    expect(s.requests.map((r) => r.path)).toEqual(['/robots.txt']);
  });

  it('falls back to the * group', async () => {
    const s = await site(text('User-agent: *\nDisallow: /private/\n'));
    const robots = createRobots({ fetcher, allowedHosts: [s.host] });
    expect((await robots.check(new URL(`${s.origin}/private/x`))).allowed).toBe(false);
    expect((await robots.check(new URL(`${s.origin}/public`))).allowed).toBe(true);
  });

  it('allows everything when there is no robots.txt (404)', async () => {
    const s = await site(undefined);
    const robots = createRobots({ fetcher, allowedHosts: [s.host] });
    expect(await robots.check(new URL(`${s.origin}/anything`))).toEqual({ allowed: true });
  });

  it('keeps off a host whose robots.txt fails (5xx) or cannot be reached', async () => {
    const failing = await site({ status: 503, body: 'down' });
    const robots = createRobots({ fetcher, allowedHosts: [failing.host] });
    expect(await robots.check(new URL(`${failing.origin}/products/x`))).toEqual({
      allowed: false,
      reason: 'unreachable',
      message: `${failing.origin}/robots.txt could not be read (answered HTTP 503); ${failing.host} was not crawled this run`,
    });

    const gone = await site(undefined);
    await sites.pop()!.close();
    const robots2 = createRobots({ fetcher, allowedHosts: [gone.host] });
    const verdict = await robots2.check(new URL(`${gone.origin}/x`));
    expect(verdict).toMatchObject({ allowed: false, reason: 'unreachable' });
    expect(!verdict.allowed && verdict.message).toContain('ECONNREFUSED');
  });

  it('raises the limiter interval to the Crawl-delay, and stays off a host asking for more than the most we wait', async () => {
    const s = await site(text('User-agent: RoseAsh-MarketBot\nCrawl-delay: 2.5\nSitemap: /sitemap.xml\n'));
    const limiter = createHostLimiter({ rateLimitMs: 1000 });
    const robots = createRobots({ fetcher, allowedHosts: [s.host], limiter });
    expect((await robots.check(new URL(`${s.origin}/`))).allowed).toBe(true);
    expect(await robots.crawlDelayMs(new URL(`${s.origin}/`))).toBe(2500);
    expect(limiter.intervalFor(s.host)).toBe(2500);

    const slow = await site(text('User-agent: *\nCrawl-delay: 3600\n'));
    const verdict = await createRobots({ fetcher, allowedHosts: [slow.host], limiter }).check(new URL(`${slow.origin}/`));
    expect(verdict).toEqual({ allowed: false, reason: 'crawl-delay', message: `${slow.origin}/robots.txt asks for a Crawl-delay of 3600 s, more than the 60 s we wait; ${slow.host} was not crawled this run` });
  });
});
