import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { loadMarketContent } from './content-loader.ts';
import { writeMarketFixture } from './content.fixture.ts';
import { createMarketManager, type MarketChange } from './manage.service.ts';
import { loadMarketSnapshot } from './market.view.ts';
import { marketPageKeys } from './page-keys.ts';
import { seedMarket } from './seed.service.ts';
import { readLiveProducts } from './stock.service.ts';

describe.each(databaseKinds)('market on %s', (kind) => {
  let t: TestDatabase;
  let dir: string;
  const clock = createFixedClock(new Date('2026-11-29T12:00:00Z'));
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    dir = await writeMarketFixture();
  });
  afterAll(() => t?.drop());

  it('seeds the folder with integer prices and cycle times in their zone, then a second run changes nothing', async () => {
    const bundle = (await loadMarketContent(dir))!;
    const first = await seedMarket(t.db, bundle, { clock });
    expect(first.products).toEqual({ added: 4, updated: 0, unchanged: 0, removed: 0 });
    expect(first.variants.added).toBe(5);
    const variants = await t.db.selectFrom('market_variants').select(['sku', 'price_minor', 'currency', 'stock_mode', 'stock_count']).orderBy('sku').execute();
    expect(variants).toEqual([
      { sku: 'HF-ASP', price_minor: 350, currency: 'GBP', stock_mode: 'tracked', stock_count: 0 },
      { sku: 'HF-KALE', price_minor: 180, currency: 'GBP', stock_mode: 'tracked', stock_count: 12 },
      { sku: 'HF-POT-2K', price_minor: 240, currency: 'GBP', stock_mode: 'tracked', stock_count: 0 },
      { sku: 'HF-POT-5K', price_minor: 500, currency: 'GBP', stock_mode: 'tracked', stock_count: 3 },
      { sku: 'OB-SOUR', price_minor: 450, currency: 'GBP', stock_mode: 'on-demand', stock_count: null },
    ]);
    const spring = await t.db.selectFrom('market_cycles').select(['opens_at', 'closes_at']).where('slug', '=', 'spring').executeTakeFirstOrThrow();
    // 08:00 in London on 1 April 2027 is British Summer Time.
    expect(spring.opens_at.toISOString()).toBe('2027-04-01T07:00:00.000Z');
    const second = await seedMarket(t.db, bundle, { clock });
    expect(second.unchanged).toBe(true);
  });

  it('reads the static snapshot: availability without counts, cycles offering each product', async () => {
    const s = await loadMarketSnapshot(t.db, { now: clock.now() });
    expect(s.products.map((p) => [p.slug, p.availability, p.fromPriceText, p.pricesDiffer])).toEqual([
      ['asparagus', 'unavailable', '£3.50', false],
      ['kale', 'in-stock', '£1.80', false],
      ['potatoes', 'in-stock', '£2.40', true],
      ['sourdough', 'on-demand', '£4.50', false],
    ]);
    expect(s.products.find((p) => p.slug === 'kale')!.cycles.map((c) => c.slug)).toEqual(['winter', 'spring']);
    expect(s.products.find((p) => p.slug === 'asparagus')!.cycles).toEqual([]);
    expect(s.categories.map((c) => [c.slug, c.productCount])).toEqual([['vegetables', 3], ['bakery', 1]]);
    expect(s.producers.find((p) => p.slug === 'higher-farm')!.storyHtml).toBe('<p>We grow <strong>vegetables</strong>.</p>\n');
    expect(JSON.stringify(s)).not.toContain('"stockCount"');
  });

  it('a stock count change leaves every page key alone; selling out changes the product, its listing and its producer only', async () => {
    const changes: MarketChange[] = [];
    const manage = createMarketManager({ db: t.db, clock, afterChange: async (_trx, c) => void changes.push(c) });
    const before = marketPageKeys(await loadMarketSnapshot(t.db, { now: clock.now() }));
    expect((await manage.setStock('cli:test', 'HF-KALE', 11)).ok).toBe(true);
    const after = marketPageKeys(await loadMarketSnapshot(t.db, { now: clock.now() }));
    expect([...after].filter(([k, v]) => before.get(k) !== v)).toEqual([]);
    expect((await manage.setStock('cli:test', 'HF-KALE', 0)).ok).toBe(true);
    const soldOut = marketPageKeys(await loadMarketSnapshot(t.db, { now: clock.now() }));
    expect([...soldOut].filter(([k, v]) => before.get(k) !== v).map(([k]) => k).sort()).toEqual(['/market/category/vegetables/', '/market/producers/higher-farm/', '/market/products/kale/']);
    expect(changes.map((c) => c.products)).toEqual([['kale'], ['kale']]);
    const audit = await manage.audit({ slug: 'HF-KALE' });
    expect(audit.map((a) => [a.actor, a.action, a.details])).toEqual([
      ['cli:test', 'stock', { before: 11, after: 0 }],
      ['cli:test', 'stock', { before: 12, after: 11 }],
    ]);
  });

  it('live stock says what can be ordered now and until when', async () => {
    const live = await readLiveProducts(t.db, ['kale', 'potatoes', 'asparagus', 'nope'], { now: clock.now(), locale: 'en-GB' });
    expect([...live.keys()].sort()).toEqual(['asparagus', 'kale', 'potatoes']);
    expect(live.get('potatoes')!.variants.map((v) => [v.sku, v.stockCount, v.priceText])).toEqual([['HF-POT-2K', 0, '£2.40'], ['HF-POT-5K', 3, '£5.00']]);
    expect(live.get('potatoes')!.ordering).toMatchObject({ state: 'open', cycle: 'winter', closesAt: new Date('2027-03-31T19:00:00Z') });
    expect(live.get('asparagus')!.ordering).toEqual({ state: 'unavailable' });
    const later = await readLiveProducts(t.db, ['kale', 'potatoes'], { now: new Date('2027-03-31T19:00:00Z'), locale: 'en-GB' });
    expect(later.get('kale')!.ordering).toMatchObject({ state: 'upcoming', cycle: 'spring' });
    expect(later.get('potatoes')!.ordering).toEqual({ state: 'not-offered' });
  });

  it('refuses bad staff input with reasons and changes nothing', async () => {
    const manage = createMarketManager({ db: t.db, clock });
    const before = await t.db.selectFrom('market_variants').selectAll().orderBy('sku').execute();
    expect(await manage.setStock('cli:test', 'HF-KALE', -1)).toEqual({ ok: false, error: { type: 'invalid', problems: ['must not be negative'] } });
    expect(await manage.setPrice('cli:test', 'HF-KALE', '1.999')).toEqual({ ok: false, error: { type: 'invalid', problems: ['price: GBP has 2 decimal places: "1.999" has 3'] } });
    expect(await manage.setPrice('cli:test', 'NOPE', '1.00')).toEqual({ ok: false, error: { type: 'not-found', entity: 'variant', slug: 'NOPE' } });
    const dup = await manage.addProduct('cli:test', { slug: 'kale', name: 'Kale again', producer: 'higher-farm', variant: { sku: 'HF-KALE-2', unit: 'bunch', price: '1.00', currency: 'GBP', stock: 1 } });
    expect(dup.ok ? 'ok' : dup.error.type).toBe('conflict');
    const badCycle = await manage.addCycle('cli:test', { slug: 'x', name: 'X', opensAt: '2027-03-28T01:30', closesAt: '2027-03-01T00:00', timeZone: 'Europe/London' });
    expect(badCycle).toEqual({ ok: false, error: { type: 'invalid', problems: ['opensAt: 2027-03-28T01:30 does not exist in Europe/London (the clocks skip it)'] } });
    expect(await t.db.selectFrom('market_variants').selectAll().orderBy('sku').execute()).toEqual(before);
    expect(await t.db.selectFrom('market_products').select('slug').where('slug', '=', 'x').execute()).toEqual([]);
  });

  it('archives what the folder dropped instead of deleting it, and needs prune for more than three', async () => {
    await fs.writeFile(path.join(dir, 'market', 'products', 'oak-bakery.json'), '[]');
    const summary = await seedMarket(t.db, (await loadMarketContent(dir))!, { clock });
    expect(summary.products.removed).toBe(1);
    const row = await t.db.selectFrom('market_products').select(['archived_at']).where('slug', '=', 'sourdough').executeTakeFirstOrThrow();
    expect(row.archived_at).not.toBeNull();
    expect((await loadMarketSnapshot(t.db, { now: clock.now() })).products.map((p) => p.slug)).not.toContain('sourdough');
    await fs.writeFile(path.join(dir, 'market', 'products', 'higher-farm.json'), '[]');
    await fs.writeFile(path.join(dir, 'market', 'cycles.json'), '[]');
    await expect(seedMarket(t.db, (await loadMarketContent(dir))!, { clock })).rejects.toThrow(/archive them/);
  });
});

describe('market content loader', () => {
  it('names every problem in every file', async () => {
    const dir = await writeMarketFixture({
      'products/oak-bakery.json': JSON.stringify([{ slug: 'Bad Slug', name: 'X', category: 'cakes', variants: [{ sku: 'OB-1', unit: 'loaf', price: 4.5, stock: -2 }] }]),
      'cycles.json': JSON.stringify([{ slug: 'c', name: 'C', opensAt: '2027-01-02T08:00', closesAt: '2027-01-01T08:00', timeZone: 'Europe/Londres', producers: ['nobody'] }]),
    });
    await expect(loadMarketContent(dir)).rejects.toThrow(
      [
        `6 problem(s) in ${path.join(dir, 'market')}:`,
        '  market/products/oak-bakery.json: [0].slug: expected a slug: lowercase letters, digits and single hyphens (e.g. "higher-farm")',
        '  market/products/oak-bakery.json: [0].variants[0].price: expected the price as a string like "3.50" (numbers lose pennies)',
        '  market/products/oak-bakery.json: [0].variants[0].stock: must not be negative',
        '  market/cycles.json: [0].opensAt: "Europe/Londres" is not an IANA time zone (like "Europe/London")',
        '  market/cycles.json: [0].closesAt: "Europe/Londres" is not an IANA time zone (like "Europe/London")',
        '  market/cycles.json: [0].producers[0]: unknown producer "nobody"',
      ].join('\n'),
    );
  });

  it('is absent for a blog-only content folder', async () => {
    const dir = await writeMarketFixture();
    await fs.rm(path.join(dir, 'market'), { recursive: true });
    expect(await loadMarketContent(dir)).toBeNull();
  });
});
