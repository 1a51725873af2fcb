import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { createMarketManager } from './manage.service.ts';
import { lastScrapeRuns } from './scrape.service.ts';
import { runScrapes } from './scrape-run.ts';
import { hillFarmStart, hillFarmSupplier, startHillFarm, type HillFarmState } from './scrape/fixtures/supplier-sites.ts';

// The whole scrape against a real loopback shop: crawl, apply to the market in one
// transaction, images stored, runs recorded; then the shop changes and the report says how.
describe.each(databaseKinds)('supplier scrape into the market on %s', (kind) => {
  let t: TestDatabase;
  let site: Awaited<ReturnType<typeof startHillFarm>>;
  let jpeg: Buffer;
  const clock = createFixedClock(new Date('2026-11-29T12:00:00Z'));
  const show = (state: HillFarmState) => {
    site.edit(state);
    site.routes.set('/img/honey.jpg', { headers: { 'content-type': 'image/jpeg' }, body: jpeg });
    // A "picture" that is a web page: refused for that product, nothing else affected.
    site.routes.set('/img/leeks.jpg', { headers: { 'content-type': 'image/jpeg' }, body: '<html>not an image</html>' });
  };
  const scrape = (opts: { dryRun?: boolean } = {}) => runScrapes(t.db, [hillFarmSupplier(site)], { allowPrivateAddresses: true, now: () => clock.now(), ...opts });
  const products = async () =>
    (
      await t.db
        .selectFrom('market_products as p')
        .innerJoin('market_variants as v', 'v.product_id', 'p.id')
        .select(['p.slug', 'p.available', 'p.image', 'v.supplier_sku', 'v.sku', 'v.price_minor', 'v.stock_mode', 'v.stock_count'])
        .where('p.supplier', '=', 'hill-farm')
        .orderBy('v.sku')
        .execute()
    ).map((r) => [r.supplier_sku, r.price_minor, r.stock_mode === 'tracked' ? r.stock_count : 'on-demand', r.available]);

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c8a040' } }).jpeg().toBuffer();
    site = await startHillFarm();
    show(hillFarmStart);
    expect((await createMarketManager({ db: t.db, clock }).addProducer('cli:test', { slug: 'hill-farm', name: 'Hill Farm' })).ok).toBe(true);
  });
  afterAll(async () => {
    await site?.close();
    await t?.drop();
  });

  it('adds what the shop sells, with prices in minor units, stock as the shop says, and its image', async () => {
    const run = (await scrape())[0]!;
    if (!run.ok) throw new Error(run.error);
    expect(run.report.new.map((p) => p.name).sort()).toEqual(['Apple juice 3 l', 'Apple juice 75 cl', 'Free-range eggs (6)', 'Leeks', 'Sourdough loaf', 'Wildflower honey']);
    expect(run.report.errors.map((e) => e.reason).join('\n')).toMatch(/robots\.txt/);
    expect(run.report.errors.some((e) => e.url.endsWith('/img/leeks.jpg'))).toBe(true);
    expect(await products()).toEqual([
      ['AJ-3L', 900, 'on-demand', true],
      ['AJ-75', 320, 'on-demand', true],
      ['EGG-6', 300, 0, true],
      ['HON-340', 650, 'on-demand', true],
      ['LEEK-1', 210, 'on-demand', true],
      ['SD-800', 420, 'on-demand', true],
    ]);
    const honey = await t.db.selectFrom('market_products').select(['image', 'name']).where('supplier_url', 'like', '%/products/honey').executeTakeFirstOrThrow();
    expect(honey.image).toMatch(/^scrape\//);
    const stored = await t.db.selectFrom('media_images').select(['source']).where('ref', '=', honey.image!).executeTakeFirstOrThrow();
    expect(stored.source).toBe('scrape');
  });

  it('a second run asks conditionally and changes nothing', async () => {
    const before = await products();
    site.requests.length = 0;
    const run = (await scrape())[0]!;
    if (!run.ok) throw new Error(run.error);
    expect(run.report.notModified).toBeGreaterThan(0);
    expect(site.requests.find((r) => r.path === '/products/honey')!.headers['if-none-match']).toBe('"honey-6.50"');
    expect([run.report.new, run.report.priceChanged, run.report.gone, run.report.backInStock]).toEqual([[], [], [], []]);
    expect(run.report.changedProducts).toEqual([]);
    expect(await products()).toEqual(before);
  });

  it('reports an edit of the shop exactly, and a dry run of it changes nothing', async () => {
    show({ honeyPrice: '7.25', eggsInStock: true, withSourdough: false, withJam: true });
    const before = await products();
    const [dry] = await scrape({ dryRun: true });
    expect(await products()).toEqual(before);
    const [run] = await scrape();
    for (const r of [dry!, run!]) {
      if (!r.ok) throw new Error(r.error);
      expect(r.report.priceChanged.map((p) => [p.name, p.from.minor, p.to.minor])).toEqual([['Wildflower honey', 650, 725]]);
      expect(r.report.backInStock.map((p) => p.name)).toEqual(['Free-range eggs (6)']);
      expect(r.report.new.map((p) => p.name)).toEqual(['Damson jam']);
      expect(r.report.gone.map((p) => p.name)).toEqual(['Sourdough loaf']);
    }
    expect(await products()).toEqual([
      ['AJ-3L', 900, 'on-demand', true],
      ['AJ-75', 320, 'on-demand', true],
      ['EGG-6', 300, 'on-demand', true],
      ['HON-340', 725, 'on-demand', true],
      ['JAM-1', 375, 'on-demand', true],
      ['LEEK-1', 210, 'on-demand', true],
      // Gone from the shop: unavailable, never deleted (orders will refer to it).
      ['SD-800', 420, 'on-demand', false],
    ]);
    const runs = await lastScrapeRuns(t.db);
    expect(runs.map((r) => [r.supplier, r.status])).toEqual([['hill-farm', 'ok']]);
  });

  it('a product whose page fails this run is reported, not gone', async () => {
    show({ honeyPrice: '7.25', eggsInStock: true, withSourdough: false, withJam: true });
    site.routes.set('/products/honey', { status: 500, body: 'down for maintenance' });
    const run = (await scrape())[0]!;
    if (!run.ok) throw new Error(run.error);
    expect(run.report.gone).toEqual([]);
    expect(run.report.unchecked.map((p) => p.name)).toEqual(['Wildflower honey']);
    expect(run.report.errors.some((e) => e.url.endsWith('/products/honey'))).toBe(true);
    const honey = await t.db.selectFrom('market_products').select('available').where('supplier_url', 'like', '%/products/honey').executeTakeFirstOrThrow();
    expect(honey.available).toBe(true);
  });
});
