import { describe, expect, it } from 'vitest';
import { extractLinks, extractProducts, type ExtractSupplier } from './extract.ts';

const supplier: ExtractSupplier = {
  slug: 'hill-farm',
  currency: 'GBP',
  allowedHosts: ['shop.example'],
  productUrlPattern: '/products/[^/?]+$',
  listingUrlPattern: '/collections/',
};
const pageUrl = 'https://shop.example/products/honey?ref=nav#reviews';
const ld = (...blocks: unknown[]) => blocks.map((b) => `<script type="application/ld+json">${typeof b === 'string' ? b : JSON.stringify(b)}</script>`).join('\n');

describe('JSON-LD', () => {
  it('reads a Product with its Offer, resolving the image and canonical URL', () => {
    const html = `<html><head><link rel="canonical" href="/products/honey">${ld({
      '@context': 'https://schema.org',
      '@type': 'Product',
      name: 'Wildflower honey',
      sku: 'HON-340',
      description: '<p>Raw &amp; unfiltered,\n  from our <b>hives</b>.</p>',
      image: ['/img/honey.jpg', '/img/honey-2.jpg'],
      offers: { '@type': 'Offer', price: '6.50', priceCurrency: 'GBP', availability: 'https://schema.org/InStock' },
    })}</head><body></body></html>`;
    expect(extractProducts(html, pageUrl, supplier)).toEqual([
      {
        supplier: 'hill-farm',
        url: 'https://shop.example/products/honey',
        pageUrl,
        sku: 'HON-340',
        name: 'Wildflower honey',
        description: 'Raw & unfiltered, from our hives.',
        price: { minor: 650, currency: 'GBP' },
        availability: 'in-stock',
        imageUrl: 'https://shop.example/img/honey.jpg',
        source: 'json-ld',
      },
    ]);
  });

  it('finds products in @graph and arrays, follows @id references and skips broken blocks', () => {
    const html = ld(
      '{"@type": "Product", "name": "Broken", ',
      [{ '@type': 'BreadcrumbList' }, { '@type': 'Organization', name: 'Hill Farm' }],
      {
        '@context': 'https://schema.org',
        '@graph': [
          { '@type': 'WebPage', '@id': '#page', mainEntity: { '@id': '#product' } },
          { '@type': ['Product', 'Thing'], '@id': '#product', name: 'Eggs (6)', offers: { '@id': '#offer' } },
          { '@type': 'Offer', '@id': '#offer', price: 3, priceCurrency: 'GBP', availability: 'OutOfStock', itemOffered: { '@id': '#product' } },
        ],
      },
    );
    expect(extractProducts(html, pageUrl, supplier)).toMatchObject([{ name: 'Eggs (6)', price: { minor: 300, currency: 'GBP' }, availability: 'out-of-stock', url: 'https://shop.example/products/honey?ref=nav' }]);
  });

  it('turns a ProductGroup into its variants, which inherit what they do not say', () => {
    const html = ld({
      '@type': 'ProductGroup',
      name: 'Apple juice',
      description: 'Pressed in October.',
      image: { '@type': 'ImageObject', url: 'https://cdn.example/juice.jpg' },
      url: 'https://shop.example/products/apple-juice',
      hasVariant: [
        { '@type': 'Product', name: 'Apple juice 75 cl', sku: 'AJ-75', offers: { '@type': 'Offer', price: '3.20', priceCurrency: 'GBP', availability: 'InStock' } },
        { '@type': 'Product', sku: 'AJ-3L', url: 'https://shop.example/products/apple-juice?variant=2', offers: { '@type': 'Offer', price: '9.00', availability: 'SoldOut' } },
      ],
    });
    expect(extractProducts(html, pageUrl, supplier)).toEqual([
      expect.objectContaining({ url: 'https://shop.example/products/apple-juice', sku: 'AJ-75', name: 'Apple juice 75 cl', description: 'Pressed in October.', price: { minor: 320, currency: 'GBP' }, availability: 'in-stock', imageUrl: 'https://cdn.example/juice.jpg' }),
      expect.objectContaining({ url: 'https://shop.example/products/apple-juice?variant=2', sku: 'AJ-3L', name: 'Apple juice', price: { minor: 900, currency: 'GBP' }, availability: 'out-of-stock' }),
    ]);
  });

  it('reads offers with their own SKUs as variants, and an AggregateOffer range as "from" its low price', () => {
    const html = ld(
      {
        '@type': 'Product',
        name: 'Oat milk',
        offers: [
          { '@type': 'Offer', sku: 'OAT-1L', name: '1 litre', price: 1.5, priceCurrency: 'GBP', availability: 'http://schema.org/InStock' },
          { '@type': 'Offer', sku: 'OAT-6L', name: 'Oat milk 6 x 1 litre', price: '8.00', priceCurrency: 'GBP', availability: 'http://schema.org/InStock' },
        ],
      },
      { '@type': 'Product', name: 'Seed box', offers: { '@type': 'AggregateOffer', lowPrice: '4.00', highPrice: '12.00', priceCurrency: 'EUR', offerCount: 3 } },
    );
    expect(extractProducts(html, pageUrl, supplier).map((p) => [p.sku, p.name, p.price, p.priceFrom])).toEqual([
      ['OAT-1L', 'Oat milk (1 litre)', { minor: 150, currency: 'GBP' }, undefined],
      ['OAT-6L', 'Oat milk 6 x 1 litre', { minor: 800, currency: 'GBP' }, undefined],
      [undefined, 'Seed box', { minor: 400, currency: 'EUR' }, true],
    ]);
  });

  it('keeps a product whose price cannot be read, saying why, and takes the unit from the price specification', () => {
    const [box] = extractProducts(ld({ '@type': 'Product', name: 'Mystery box', offers: { '@type': 'Offer', price: 'POA' } }), pageUrl, supplier);
    const potatoesPage = ld({
      '@type': 'Product',
      name: 'Potatoes',
      offers: {
        '@type': 'Offer',
        priceSpecification: [
          { '@type': 'UnitPriceSpecification', priceType: 'https://schema.org/ListPrice', price: '2.00', priceCurrency: 'GBP' },
          { '@type': 'UnitPriceSpecification', price: '1.60', priceCurrency: 'GBP', referenceQuantity: { '@type': 'QuantitativeValue', value: 1, unitCode: 'KGM' } },
        ],
      },
    });
    const [potatoes] = extractProducts(potatoesPage, pageUrl, supplier);
    expect(box).toMatchObject({ price: undefined, priceProblem: { text: 'POA', reason: 'no-amount', message: '"POA" has no amount' }, availability: 'unknown' });
    expect(potatoes).toMatchObject({ price: { minor: 160, currency: 'GBP' }, unit: 'kg' });
  });

  it('keeps one product per address and SKU', () => {
    const html = ld({ '@type': 'Product', name: 'Honey' }, { '@type': 'Product', name: 'Honey again' }, { '@type': 'Product', name: 'Honey 1 kg', sku: 'H-1K' });
    expect(extractProducts(html, pageUrl, supplier).map((p) => p.name)).toEqual(['Honey', 'Honey 1 kg']);
  });

  it('caps descriptions at 2000 characters, cut at a word', () => {
    const html = ld({ '@type': 'Product', name: 'Long', description: 'word '.repeat(1000) });
    const [p] = extractProducts(html, pageUrl, supplier);
    expect(p!.description!.length).toBeLessThanOrEqual(2000);
    expect(p!.description!.endsWith('word…')).toBe(true);
  });
});

describe('microdata, RDFa, OpenGraph and selectors', () => {
  it('reads microdata, content attributes before text', () => {
    const html = `<div itemscope itemtype="http://schema.org/Product">
      <h1 itemprop="name">Sourdough loaf</h1>
      <img itemprop="image" src="/img/loaf.jpg">
      <span itemprop="sku">SD-800</span>
      <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
        <span itemprop="price" content="4.20">£4.20</span><meta itemprop="priceCurrency" content="GBP">
        <link itemprop="availability" href="https://schema.org/InStock">
      </div>
      <div itemprop="review" itemscope itemtype="http://schema.org/Review"><span itemprop="name">Lovely</span></div>
    </div>`;
    expect(extractProducts(html, 'https://shop.example/products/sourdough', supplier)).toEqual([
      {
        supplier: 'hill-farm',
        url: 'https://shop.example/products/sourdough',
        pageUrl: 'https://shop.example/products/sourdough',
        sku: 'SD-800',
        name: 'Sourdough loaf',
        price: { minor: 420, currency: 'GBP' },
        availability: 'in-stock',
        imageUrl: 'https://shop.example/img/loaf.jpg',
        source: 'microdata',
      },
    ]);
  });

  it('reads a microdata price from its text when there is no content attribute', () => {
    const html = `<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Jam</span>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price">£3.50</span></div></div>`;
    expect(extractProducts(html, pageUrl, supplier)[0]).toMatchObject({ name: 'Jam', price: { minor: 350, currency: 'GBP' } });
  });

  it('reads RDFa', () => {
    const html = `<div vocab="https://schema.org/" typeof="Product">
      <span property="name">Goat cheese</span>
      <div property="offers" typeof="Offer"><span property="price" content="5.75">£5.75</span>
        <meta property="priceCurrency" content="GBP"><link property="availability" href="https://schema.org/OutOfStock"></div>
    </div>`;
    expect(extractProducts(html, pageUrl, supplier)).toMatchObject([{ name: 'Goat cheese', price: { minor: 575, currency: 'GBP' }, availability: 'out-of-stock', source: 'rdfa' }]);
  });

  it('reads OpenGraph product tags', () => {
    const html = `<head><meta property="og:type" content="product"><meta property="og:title" content="Rapeseed oil">
      <meta property="og:image" content="//cdn.example/oil.jpg"><meta property="product:price:amount" content="7.00">
      <meta property="product:price:currency" content="GBP"><meta property="product:availability" content="in stock"></head>`;
    expect(extractProducts(html, pageUrl, supplier)).toMatchObject([
      { name: 'Rapeseed oil', price: { minor: 700, currency: 'GBP' }, availability: 'in-stock', imageUrl: 'https://cdn.example/oil.jpg', source: 'opengraph' },
    ]);
  });

  it('uses the supplier selectors last', () => {
    const html = `<h1 class="title"> Leeks </h1><p class="cost">£2.10 per kg</p><p class="stock">Sold out</p><img class="main" data-src="/leeks.jpg">`;
    const withSelectors = { ...supplier, selectors: { name: '.title', price: '.cost', availability: '.stock', image: 'img.main' } };
    expect(extractProducts(html, pageUrl, withSelectors)).toEqual([
      {
        supplier: 'hill-farm',
        url: 'https://shop.example/products/honey?ref=nav',
        pageUrl,
        name: 'Leeks',
        price: { minor: 210, currency: 'GBP' },
        availability: 'out-of-stock',
        imageUrl: 'https://shop.example/leeks.jpg',
        unit: 'kg',
        source: 'selectors',
      },
    ]);
    expect(extractProducts(html, pageUrl, supplier)).toEqual([]);
  });

  it('prefers JSON-LD over the other sources on the same page', () => {
    const html = `${ld({ '@type': 'Product', name: 'From JSON-LD' })}<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">From microdata</span></div>`;
    expect(extractProducts(html, pageUrl, supplier).map((p) => [p.name, p.source])).toEqual([['From JSON-LD', 'json-ld']]);
  });

  it('finds nothing in a page without products, or in malformed HTML, without throwing', () => {
    expect(extractProducts('<html><body><p>About us</p></body></html>', pageUrl, supplier)).toEqual([]);
    expect(extractProducts('<div itemscope itemtype="x"><<<>>><script type="application/ld+json">{{{</script></di', pageUrl, supplier)).toEqual([]);
  });
});

describe('extractLinks', () => {
  it('sorts allowed links into products, listings (with rel=next) and the rest', () => {
    const html = `<base href="https://shop.example/collections/">
      <a href="/products/honey">Honey</a> <a href="/products/honey#reviews">Reviews</a>
      <a href="veg?page=2" rel="next">Next</a> <a href="/collections/fruit">Fruit</a>
      <a href="/about">About</a> <a href="/cart" rel="nofollow">Cart</a>
      <a href="https://elsewhere.example/products/x">Elsewhere</a> <a href="mailto:hi@shop.example">Mail</a>`;
    expect(extractLinks(html, 'https://shop.example/collections/veg', supplier)).toEqual({
      products: ['https://shop.example/products/honey'],
      listings: ['https://shop.example/collections/veg?page=2', 'https://shop.example/collections/fruit'],
      other: ['https://shop.example/about'],
    });
  });
});
