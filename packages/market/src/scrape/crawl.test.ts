import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createPageFetcher } from '@rose/http';
import { changeReport, formatChangeReport, type KnownProduct } from './change-report.ts';
import { scrapeSupplier, ScrapeConfigError, type ScrapeResult } from './crawl.ts';
import type { ScrapedProduct } from './extract.ts';
import { startFixtureSite, type FixtureSite } from './fixtures/site-server.ts';
import { hillFarmStart, hillFarmSupplier, rogueRanchSupplier, startHillFarm, startRogueRanch, startValleyBakery, valleyBakerySupplier } from './fixtures/supplier-sites.ts';

const sites: FixtureSite[] = [];
afterEach(async () => {
  await Promise.all(sites.splice(0).map((s) => s.close()));
});
async function keep<T extends FixtureSite>(site: Promise<T>): Promise<T> {
  const s = await site;
  sites.push(s);
  return s;
}

const fetcher = createPageFetcher({ allowPrivateAddresses: true, contactUrl: 'https://coop.example/bot' });

/** A clock that moves only when the crawl sleeps: waits are recorded and take no time. */
function fakeTime() {
  let t = 0;
  const waits: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (waits.push(ms), (t += ms)), waits };
}

/** The products as one line each, with the site's origin taken out. */
function lines(products: ScrapedProduct[], origin: string) {
  return products.map((p) => [p.url.replace(origin, ''), p.sku, p.name, p.price ? `${p.price.minor} ${p.price.currency}` : `- (${p.priceProblem?.reason})`, p.availability, p.source].join(' | '));
}

const paths = (urls: string[], origin: string) => urls.map((u) => u.replace(origin, ''));

describe('a well-made shop (sitemap, pagination, JSON-LD and microdata)', () => {
  it('finds exactly its products and prices, follows the sitemap and the pagination, and honours robots.txt', async () => {
    const site = await keep(startHillFarm());
    const progress: number[] = [];
    const run = await scrapeSupplier(hillFarmSupplier(site), { fetcher, onProgress: (done) => progress.push(done) });
    expect(lines(run.products, site.origin)).toEqual([
      '/products/apple-juice | AJ-3L | Apple juice 3 l | 900 GBP | in-stock | json-ld',
      '/products/apple-juice | AJ-75 | Apple juice 75 cl | 320 GBP | in-stock | json-ld',
      '/products/eggs | EGG-6 | Free-range eggs (6) | 300 GBP | out-of-stock | json-ld',
      '/products/honey | HON-340 | Wildflower honey | 650 GBP | in-stock | json-ld',
      '/products/leeks | LEEK-1 | Leeks | 210 GBP | in-stock | microdata',
      '/products/sourdough | SD-800 | Sourdough loaf | 420 GBP | in-stock | microdata',
    ]);
    expect(run.products.find((p) => p.sku === 'HON-340')).toEqual({
      supplier: 'hill-farm',
      url: `${site.origin}/products/honey`,
      pageUrl: `${site.origin}/products/honey`,
      sku: 'HON-340',
      name: 'Wildflower honey',
      description: 'Raw honey from our hives, 340 g.',
      price: { minor: 650, currency: 'GBP' },
      availability: 'in-stock',
      imageUrl: `${site.origin}/img/honey.jpg`,
      source: 'json-ld',
    });
    expect(run.errors).toEqual([]);
    expect(paths(run.robotsBlocked, site.origin)).toEqual(['/products/secret-recipe']);
    // Listings (2 veg pages, drinks) and 5 product pages; /about is in the sitemap but matches no
    // pattern. Progress counts the page robots.txt kept us from too.
    expect(run.pagesFetched).toBe(8);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(run.maxPagesReached).toBe(false);
    const fetched = site.requests.map((r) => r.path);
    expect(fetched.filter((p) => p === '/robots.txt')).toHaveLength(1);
    expect(fetched).not.toContain('/about');
    expect(fetched).not.toContain('/products/secret-recipe');
    expect(new Set(fetched).size).toBe(fetched.length);
    expect(paths([...run.validators.keys()].sort(), site.origin)).toEqual(['/products/apple-juice', '/products/eggs', '/products/honey']);
  });

  it('reports exactly what changed after the site is edited, fetching unchanged pages conditionally', async () => {
    const site = await keep(startHillFarm());
    const supplier = hillFarmSupplier(site);
    const first = await scrapeSupplier(supplier, { fetcher });
    const known: KnownProduct[] = first.products.map((p) => ({ url: p.url, sku: p.sku, name: p.name, price: p.price, availability: p.availability, pageUrl: p.pageUrl }));

    site.edit({ ...hillFarmStart, honeyPrice: '6.80', eggsInStock: true, withSourdough: false, withJam: true });
    site.requests.length = 0;
    const second = await scrapeSupplier(supplier, { fetcher, previous: first.validators });
    expect(paths(second.notModified, site.origin)).toEqual(['/products/apple-juice']);
    const conditional = site.requests.filter((r) => r.headers['if-none-match']).map((r) => `${r.path} ${r.headers['if-none-match']}`);
    expect(conditional.sort()).toEqual(['/products/apple-juice "juice-1"', '/products/eggs "eggs-false"', '/products/honey "honey-6.50"']);

    const report = changeReport(known, second.products, second.notModified, { failedPages: [...second.errors.map((e) => e.url), ...second.robotsBlocked], incomplete: second.maxPagesReached });
    const shown = formatChangeReport(report, second.errors).map((l) => l.replaceAll(site.origin, ''));
    expect(shown).toEqual([
      '1 new, 1 price change, 1 back in stock, 0 out of stock, 1 gone, 3 unchanged',
      '',
      'New:',
      '  Damson jam: £3.75 </products/jam>',
      '',
      'Price changes:',
      '  Wildflower honey: £6.50 → £6.80 </products/honey>',
      '',
      'Back in stock:',
      '  Free-range eggs (6) </products/eggs>',
      '',
      'Gone:',
      '  Sourdough loaf </products/sourdough>',
    ]);
    expect(report.priceChanged).toEqual([{ url: `${site.origin}/products/honey`, sku: 'HON-340', name: 'Wildflower honey', from: { minor: 650, currency: 'GBP' }, to: { minor: 680, currency: 'GBP' } }]);
  });
});

describe('a shop read with CSS selectors', () => {
  it('reads name, price, availability and image with the supplier selectors, reporting the price it cannot read', async () => {
    const site = await keep(startValleyBakery());
    const run = await scrapeSupplier(valleyBakerySupplier(site), { fetcher });
    expect(lines(run.products, site.origin)).toEqual([
      '/item/1 |  | Rye loaf | 340 GBP | in-stock | selectors',
      '/item/2 |  | Cinnamon buns (4) | 400 GBP | out-of-stock | selectors',
      '/item/3 |  | Celebration cake | - (no-amount) | unknown | selectors',
    ]);
    expect(run.products[1]).toMatchObject({ priceFrom: true, imageUrl: `${site.origin}/i/cinnamon-buns-4-.jpg` });
    expect(run.products[2]!.priceProblem).toEqual({ text: 'POA', reason: 'no-amount', message: '"POA" has no amount' });
    // No robots.txt (404) means no rules; /contact matches no pattern and is not fetched.
    expect(run.robotsBlocked).toEqual([]);
    expect(run.errors).toEqual([]);
    expect(site.requests.map((r) => r.path).sort()).toEqual(['/item/1', '/item/2', '/item/3', '/robots.txt', '/shop']);
  });
});

describe('sitemaps', () => {
  it('reads a gzipped sitemap and a plain list of URLs, and skips one that is not a sitemap', async () => {
    const site = await keep(startValleyBakery());
    const supplier = { ...valleyBakerySupplier(site), startUrls: undefined, sitemap: `${site.origin}/sitemap_index.xml` };
    site.routes.set('/sitemap_index.xml', {
      headers: { 'content-type': 'application/xml' },
      body: `<sitemapindex><sitemap><loc>${site.origin}/sitemap.xml.gz</loc></sitemap><sitemap><loc>${site.origin}/urls.txt</loc></sitemap><sitemap><loc>${site.origin}/broken.xml</loc></sitemap><sitemap><loc>${site.origin}/sitemap_index.xml</loc></sitemap></sitemapindex>`,
    });
    site.routes.set('/sitemap.xml.gz', { headers: { 'content-type': 'application/x-gzip' }, body: gzipSync(`<urlset><url><loc>${site.origin}/item/1</loc></url></urlset>`) });
    site.routes.set('/urls.txt', { headers: { 'content-type': 'text/plain' }, body: `${site.origin}/item/2\n${site.origin}/contact\n` });
    site.routes.set('/broken.xml', { headers: { 'content-type': 'application/xml' }, body: '<html><body>Not here</body></html>' });
    const run = await scrapeSupplier(supplier, { fetcher });
    expect(run.products.map((p) => p.name)).toEqual(['Rye loaf', 'Cinnamon buns (4)']);
    expect(run.errors.map((e) => e.message.replace(site.origin, ''))).toEqual(['/broken.xml: not a sitemap (no <urlset> or <sitemapindex>); it was skipped']);
    expect(site.requests.filter((r) => r.path === '/sitemap_index.xml')).toHaveLength(1);
  });
});

describe('a hostile site', () => {
  it('turns each bad page into one error and still reads the good pages, at the pace Crawl-delay asks', async () => {
    const other = await keep(startFixtureSite({ '/p/good': { body: 'elsewhere' } }));
    const site = await keep(startRogueRanch(`http://localhost:${other.port}`));
    const time = fakeTime();
    const hostile = createPageFetcher({ allowPrivateAddresses: true, maxBytes: 1024 * 1024, timeoutMs: 2500 });
    const run = await scrapeSupplier(rogueRanchSupplier(site), { fetcher: hostile, now: time.now, sleep: time.sleep });

    expect(lines(run.products, site.origin)).toEqual([
      '/p/fake-picture |  | Cheese with a fake picture | 400 GBP | unknown | json-ld',
      '/p/good |  | Good cheese | 500 GBP | unknown | json-ld',
      '/p/half-broken |  | Blue cheese | 625 GBP | unknown | json-ld',
    ]);
    expect(run.errors.map((e) => [e.url.replace(site.origin, ''), e.reason, e.message.replaceAll(site.origin, '').replaceAll(String(other.port), 'PORT')])).toEqual([
      ['/p/away', 'host-not-allowed', 'http://localhost:PORT/p/good: redirected to host localhost:PORT, which is not in the allowed hosts; the page was skipped'],
      ['/p/bomb', 'too-large', '/p/bomb: body exceeded 1 MiB after decoding; the page was skipped'],
      ['/p/enormous', 'too-large', '/p/enormous: body exceeded 1 MiB; the page was skipped'],
      ['/p/fake-image', 'wrong-content-type', '/p/fake-image: is image/png, not text/html or application/xhtml+xml; the page was skipped'],
      ['/p/gone', 'http-status', '/p/gone: answered HTTP 404; the page was skipped'],
      ['/p/loop', 'redirect-loop', '/p/loop-2: redirects back to /p/loop, a loop; the page was skipped'],
      ['/p/malformed', 'no-products', '/p/malformed: no product data (JSON-LD, microdata, RDFa, OpenGraph) on the page'],
      ['/p/octet', 'wrong-content-type', '/p/octet: is application/octet-stream, not text/html or application/xhtml+xml; the page was skipped'],
      ['/p/slow', 'timeout', '/p/slow: no complete answer within 2500 ms; the page was skipped'],
    ]);
    expect(paths(run.robotsBlocked, site.origin)).toEqual(['/p/private']);
    expect(other.requests).toEqual([]);
    // robots.txt, then the list and 12 product pages (13 less the one robots.txt forbids): every
    // start after the first is a Crawl-delay (1 s) after the one before.
    expect(run.pagesFetched).toBe(13);
    expect(time.waits).toEqual(Array<number>(13).fill(1000));

    // The image a product points to is checked too when it is fetched: HTML calling itself a PNG is refused.
    const images = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'];
    const picture = (p: ScrapeResult['products'][number]) => hostile.fetchBytes({ url: p.imageUrl!, accept: images, allowedHosts: [site.host] });
    expect(await picture(run.products[1]!)).toMatchObject({ kind: 'ok', contentType: 'image/png' });
    expect(await picture(run.products[0]!)).toMatchObject({ kind: 'refused', reason: 'wrong-content-type' });
  });
});

describe('what stops a run', () => {
  it('reports, does not throw, when the site is on a private address and those are not allowed', async () => {
    const site = await keep(startHillFarm());
    const run = await scrapeSupplier(hillFarmSupplier(site), { allowPrivateAddresses: false });
    expect(run.products).toEqual([]);
    expect(run.pagesFetched).toBe(0);
    expect(run.errors).toEqual([
      {
        url: `${site.origin}/robots.txt`,
        reason: 'robots',
        message: `${site.origin}/robots.txt could not be read (127.0.0.1 is a loopback address; only public addresses are fetched); ${site.host} was not crawled this run`,
      },
    ]);
    expect(paths(run.robotsBlocked, site.origin)).toEqual(['/sitemap.xml']);
    expect(site.requests).toEqual([]);
  });

  it('reports robots.txt forbidding everything as blocked pages, not a failure', async () => {
    const site = await keep(startValleyBakery());
    site.routes.set('/robots.txt', { headers: { 'content-type': 'text/plain' }, body: 'User-agent: *\nDisallow: /\n' });
    const run = await scrapeSupplier(valleyBakerySupplier(site), { fetcher });
    expect([run.products, run.errors, paths(run.robotsBlocked, site.origin), run.pagesFetched]).toEqual([[], [], ['/shop'], 0]);
  });

  it('throws a ScrapeConfigError when a start URL is not on an allowed host', async () => {
    const supplier = { ...valleyBakerySupplier({ origin: 'http://127.0.0.1:9', host: '127.0.0.1:9' }), startUrls: ['https://elsewhere.example/shop'] };
    const error = await scrapeSupplier(supplier, { fetcher }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScrapeConfigError);
    expect((error as ScrapeConfigError).message).toMatchInlineSnapshot(`"Supplier "valley-bakery" startUrls[0]: "https://elsewhere.example/shop" is on elsewhere.example, which is not in allowedHosts (127.0.0.1:9)."`);
  });

  it('stops at maxPages and says so', async () => {
    const site = await keep(startHillFarm());
    const run = await scrapeSupplier({ ...hillFarmSupplier(site), maxPages: 3 }, { fetcher });
    expect([run.pagesFetched, run.maxPagesReached]).toEqual([3, true]);
  });

  it('stops when cancelled', async () => {
    const site = await keep(startHillFarm());
    const controller = new AbortController();
    const run = scrapeSupplier(hillFarmSupplier(site), { fetcher, signal: controller.signal, onProgress: () => controller.abort(new Error('stopped by staff')) });
    await expect(run).rejects.toThrow('stopped by staff');
  });
});
