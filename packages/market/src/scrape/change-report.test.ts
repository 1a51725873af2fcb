import { describe, expect, it } from 'vitest';
import { changeReport, formatChangeReport, type KnownProduct } from './change-report.ts';
import type { ScrapedProduct } from './extract.ts';

const scraped = (url: string, name: string, minor: number | undefined, availability: ScrapedProduct['availability'], extra: Partial<ScrapedProduct> = {}): ScrapedProduct => ({
  supplier: 's',
  url,
  pageUrl: url,
  name,
  price: minor === undefined ? undefined : { minor, currency: 'EUR' },
  availability,
  source: 'json-ld',
  ...extra,
});
const known = (url: string, name: string, minor: number | undefined, availability: KnownProduct['availability'], extra: Partial<KnownProduct> = {}): KnownProduct => ({
  url,
  name,
  price: minor === undefined ? undefined : { minor, currency: 'EUR' },
  availability,
  ...extra,
});

describe('changeReport', () => {
  it('matches products by URL and SKU', () => {
    const before = [known('https://s/p/juice', 'Juice 1 l', 300, 'in-stock', { sku: 'J1' }), known('https://s/p/juice', 'Juice 3 l', 800, 'in-stock', { sku: 'J3' })];
    const after = [scraped('https://s/p/juice', 'Juice 1 l', 300, 'in-stock', { sku: 'J1' }), scraped('https://s/p/juice', 'Juice 3 l', 850, 'out-of-stock', { sku: 'J3' })];
    const report = changeReport(before, after, []);
    expect(report).toEqual({
      new: [],
      priceChanged: [{ url: 'https://s/p/juice', sku: 'J3', name: 'Juice 3 l', from: { minor: 800, currency: 'EUR' }, to: { minor: 850, currency: 'EUR' } }],
      backInStock: [],
      outOfStock: [{ url: 'https://s/p/juice', sku: 'J3', name: 'Juice 3 l' }],
      gone: [],
      unchecked: [],
      unchanged: 1,
    });
  });

  it('counts products of not-modified pages as unchanged, and of failed pages as unchecked, never gone', () => {
    const before = [known('https://s/p/a', 'A', 100, 'in-stock'), known('https://s/p/b', 'B', 100, 'in-stock', { pageUrl: 'https://s/p/b?x=1' }), known('https://s/p/c', 'C', 100, 'in-stock'), known('https://s/p/d', 'D', 100, 'in-stock')];
    const report = changeReport(before, [], ['https://s/p/a', 'https://s/p/b?x=1'], { failedPages: ['https://s/p/c'] });
    expect([report.unchanged, report.unchecked.map((p) => p.name), report.gone.map((p) => p.name)]).toEqual([2, ['C'], ['D']]);
    expect(changeReport(before, [], [], { incomplete: true }).gone).toEqual([]);
  });

  it('reports a price the page no longer shows, and formats money by its currency', () => {
    const report = changeReport([known('https://s/p/a', 'Cheese', 1250, 'unknown')], [scraped('https://s/p/a', 'Cheese', undefined, 'unknown'), scraped('https://s/p/n', 'Yoghurt', 199, 'in-stock', { price: { minor: 1200, currency: 'JPY' } })], []);
    expect(formatChangeReport(report, [{ url: 'https://s/p/x', message: 'https://s/p/x: answered HTTP 500; the page was skipped' }])).toEqual([
      '1 new, 1 price change, 0 back in stock, 0 out of stock, 0 gone, 0 unchanged, 1 page failed',
      '',
      'New:',
      '  Yoghurt: JP¥1,200 <https://s/p/n>',
      '',
      'Price changes:',
      '  Cheese: €12.50 → no price <https://s/p/a>',
      '',
      'Failed pages:',
      '  https://s/p/x: answered HTTP 500; the page was skipped',
    ]);
  });
});
