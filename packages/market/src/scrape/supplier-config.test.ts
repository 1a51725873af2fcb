import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentError } from '@rose/core';
import { loadSuppliers, parseSuppliers } from './supplier-config.ts';

const good = {
  slug: 'veg-box',
  name: 'Veg Box Co',
  producer: 'hill-farm',
  startUrls: ['https://shop.example/veg'],
  allowedHosts: ['shop.example'],
  productUrlPattern: '/products/[a-z0-9-]+$',
  currency: 'GBP',
};

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('parseSuppliers', () => {
  it('applies the defaults', () => {
    const parsed = parseSuppliers([good, { ...good, slug: 'bakery', startUrls: undefined, sitemap: 'https://bread.example/sitemap.xml', allowedHosts: ['bread.example'], maxPages: 20 }]);
    expect(parsed.ok && parsed.value.map((s) => [s.slug, s.maxPages])).toEqual([
      ['veg-box', 500],
      ['bakery', 20],
    ]);
  });

  it('names the supplier and the field of every problem', () => {
    const parsed = parseSuppliers([
      { ...good, currency: 'pounds', startUrls: ['https://elsewhere.example/x', 'ftp://shop.example/'], productUrlPattern: '([a-z' },
      { ...good, slug: 'bakery', startUrls: undefined, selectors: { name: 'h1', price: 'div[' }, startUrl: 'https://shop.example/' },
      { ...good },
      { name: 'No Slug' },
    ]);
    expect(parsed.ok ? [] : parsed.problems).toMatchInlineSnapshot(`
      [
        "supplier "veg-box" (#1) startUrls[1]: must be a full http(s) address, like https://shop.example/veg",
        "supplier "veg-box" (#1) productUrlPattern: is not a valid regular expression",
        "supplier "veg-box" (#1) currency: must be an ISO 4217 code in capitals, like GBP or EUR",
        "supplier "veg-box" (#1) startUrls[0]: is on elsewhere.example, which allowedHosts does not list",
        "supplier "bakery" (#2) selectors.price: is not a valid CSS selector",
        "supplier "bakery" (#2) Unrecognized key: "startUrl"",
        "supplier "bakery" (#2) startUrls: give startUrls or sitemap (or both): where the crawl begins",
        "supplier #4 slug: must be text",
        "supplier #4 producer: must be text",
        "supplier #4 allowedHosts: must be a list of host names",
        "supplier #4 currency: must be an ISO 4217 code like GBP",
      ]
    `);
  });

  it('wants a list', () => {
    expect(parseSuppliers({ suppliers: [] })).toEqual({ ok: false, problems: ['must be a list ([ … ]) of suppliers'] });
  });
});

describe('loadSuppliers', () => {
  it('reads the file', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'suppliers-'));
    const file = path.join(dir, 'suppliers.json');
    await writeFile(file, JSON.stringify([good]));
    expect((await loadSuppliers(file)).map((s) => s.slug)).toEqual(['veg-box']);
  });

  it('throws a ContentError naming the file for bad JSON, a missing file and bad entries', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'suppliers-'));
    const file = path.join(dir, 'suppliers.json');
    const message = async () => {
      try {
        await loadSuppliers(file);
      } catch (error) {
        expect(error).toBeInstanceOf(ContentError);
        return (error as ContentError).message.replace(dir!, 'DIR');
      }
      throw new Error('expected a ContentError');
    };
    expect(await message()).toMatchInlineSnapshot(`"DIR/suppliers.json: the suppliers file does not exist"`);
    await writeFile(file, '[{"slug": "veg-box",}]');
    expect(await message()).toMatchInlineSnapshot(`"DIR/suppliers.json: is not valid JSON: Expected double-quoted property name in JSON at position 20 (line 1 column 21)"`);
    await writeFile(file, JSON.stringify([{ ...good, currency: 'GB' }]));
    expect(await message()).toMatchInlineSnapshot(`
      "DIR/suppliers.json: has a problem:
        - supplier "veg-box" (#1) currency: must be an ISO 4217 code in capitals, like GBP or EUR"
    `);
  });
});
