import { load, type Cheerio, type CheerioAPI } from 'cheerio';
import type { Money } from '@rose/core';
import { isHostAllowed } from '@rose/http';
import { parsePrice, type PriceProblem } from './price.ts';
import type { SupplierConfig } from './supplier-config.ts';

export type ProductSource = 'json-ld' | 'microdata' | 'rdfa' | 'opengraph' | 'selectors';
export type Availability = 'in-stock' | 'out-of-stock' | 'unknown';

/** A product as found on a supplier's page. */
export interface ScrapedProduct {
  /** The supplier's slug. */
  readonly supplier: string;
  /**
   * The product's canonical address on the supplier's site: its own `url` in the page's data,
   * else the page's `<link rel="canonical">`, else the page (all on an allowed host, no #fragment).
   */
  readonly url: string;
  /** The page it was found on, as requested: the key of validators and of `notModified`. */
  readonly pageUrl: string;
  /** The supplier's SKU; variants of one product share its `url` and differ by it. */
  readonly sku?: string;
  readonly name: string;
  /** Plain text, whitespace collapsed, at most 2000 characters. */
  readonly description?: string;
  /** Undefined when the page shows none, or one that could not be read (then see `priceProblem`). */
  readonly price: Money | undefined;
  /** The price is the lowest of several ("from £3", an AggregateOffer's lowPrice). */
  readonly priceFrom?: true;
  /** The price text the page had, and why it could not be read. */
  readonly priceProblem?: { readonly text: string; readonly reason: PriceProblem; readonly message: string };
  readonly availability: Availability;
  /** Absolute http(s) URL of the first image. */
  readonly imageUrl?: string;
  /** What the price is per (`kg`, `500 g`, `each`), when the page says. */
  readonly unit?: string;
  readonly source: ProductSource;
}

/** What extraction needs of a supplier. */
export type ExtractSupplier = Pick<SupplierConfig, 'slug' | 'currency' | 'allowedHosts'> & Partial<Pick<SupplierConfig, 'selectors' | 'productUrlPattern' | 'listingUrlPattern'>>;

const descriptionLimit = 2000;

/**
 * The products on a supplier's page, from the first of these that has any: schema.org
 * Product / ProductGroup / Offer / AggregateOffer in JSON-LD (with `@graph`, arrays and `@id`
 * references; malformed blocks are skipped), microdata, RDFa, OpenGraph product tags, and last
 * the supplier's own CSS selectors.
 *
 * @example
 * const products = extractProducts(page.text, page.url, supplier);
 */
export function extractProducts(html: string, pageUrl: string, supplier: ExtractSupplier): ScrapedProduct[] {
  const $ = load(html);
  const ctx: Context = { $, pageUrl, supplier, canonical: canonicalOf($, pageUrl, supplier) };
  const attempts: (() => ScrapedProduct[])[] = [
    () => productsFromThings(jsonLdThings($), ctx, 'json-ld'),
    () => productsFromThings(markupThings($, ctx, microdata), ctx, 'microdata'),
    () => productsFromThings(markupThings($, ctx, rdfa), ctx, 'rdfa'),
    () => openGraphProducts(ctx),
    () => selectorProducts(ctx),
  ];
  for (const attempt of attempts) {
    const products = attempt();
    if (products.length) return dedupe(products);
  }
  return [];
}

interface Context {
  readonly $: CheerioAPI;
  readonly pageUrl: string;
  readonly supplier: ExtractSupplier;
  readonly canonical: string;
}

// ---------------------------------------------------------------------------------------------
// A small common model of structured data: JSON-LD, microdata and RDFa all become Things with
// properties, so one mapping turns any of them into products.

interface Thing {
  readonly kind: 'thing';
  readonly types: readonly string[];
  readonly props: Map<string, Value[]>;
  readonly id?: string;
}
/** A property value; `fromText` marks one read from an element's text rather than from data. */
interface Literal {
  readonly kind: 'literal';
  readonly value: string | number;
  readonly fromText: boolean;
}
type Value = Thing | Literal;

const literal = (value: string | number, fromText = false): Literal => ({ kind: 'literal', value, fromText });

/** `https://schema.org/Product`, `schema:Product`, `Product` → `Product`. */
function localName(term: string): string {
  return term.trim().replace(/^.*[/#:]/, '');
}

function jsonLdThings($: CheerioAPI): Thing[] {
  const roots: Thing[] = [];
  const ids = new Map<string, Thing>();
  $('script[type="application/ld+json" i]').each((_, el) => {
    const raw = $(el).text().replace(/^\s*(?:<!--|\/\*\s*<!\[CDATA\[\s*\*\/)|(?:-->|\/\*\s*\]\]>\s*\*\/)\s*$/g, '');
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      // A broken block says nothing we can trust; the others (and other sources) still count.
      return;
    }
    for (const value of toValues(data, ids, 0)) if (value.kind === 'thing') roots.push(value);
  });
  return roots.map((thing) => resolveIds(thing, ids, new Set()));
}

function toValues(data: unknown, ids: Map<string, Thing>, depth: number): Value[] {
  if (depth > 32) return [];
  if (Array.isArray(data)) return data.flatMap((d) => toValues(d, ids, depth + 1));
  if (typeof data === 'string' || typeof data === 'number') return [literal(data)];
  if (typeof data === 'boolean') return [literal(String(data))];
  if (typeof data !== 'object' || data === null) return [];
  const obj = data as Record<string, unknown>;
  if ('@value' in obj) return toValues(obj['@value'], ids, depth + 1);
  if ('@graph' in obj && !('@type' in obj)) return toValues(obj['@graph'], ids, depth + 1);
  const types = [obj['@type']].flat().filter((t): t is string => typeof t === 'string').map(localName);
  const props = new Map<string, Value[]>();
  for (const [key, value] of Object.entries(obj)) {
    if (key.startsWith('@')) continue;
    const name = localName(key);
    props.set(name, [...(props.get(name) ?? []), ...toValues(value, ids, depth + 1)]);
  }
  const id = typeof obj['@id'] === 'string' ? obj['@id'] : undefined;
  const thing: Thing = { kind: 'thing', types, props, ...(id ? { id } : {}) };
  if (id && (types.length || props.size)) ids.set(id, thing);
  if ('@graph' in obj) return [thing, ...toValues(obj['@graph'], ids, depth + 1)];
  return [thing];
}

/** Replaces `{ "@id": "#offer" }` stubs with the node of that id, once per path (no cycles). */
function resolveIds(thing: Thing, ids: Map<string, Thing>, path: Set<Thing>): Thing {
  const target = !thing.types.length && !thing.props.size && thing.id ? ids.get(thing.id) : undefined;
  const node = target ?? thing;
  if (path.has(node) || path.size > 16) return node;
  path.add(node);
  const props = new Map<string, Value[]>();
  for (const [key, values] of node.props) props.set(key, values.map((v) => (v.kind === 'thing' ? resolveIds(v, ids, path) : v)));
  path.delete(node);
  return { ...node, props };
}

type Element = ReturnType<ReturnType<CheerioAPI['root']>['children']> extends Cheerio<infer T> ? T : never;

interface MarkupSyntax {
  /** Selects the elements that start an item. */
  readonly scope: '[itemscope]' | '[typeof]';
  readonly typeAttr: string;
  readonly propAttr: string;
}
const microdata: MarkupSyntax = { scope: '[itemscope]', typeAttr: 'itemtype', propAttr: 'itemprop' };
const rdfa: MarkupSyntax = { scope: '[typeof]', typeAttr: 'typeof', propAttr: 'property' };

function markupThings($: CheerioAPI, ctx: Context, syntax: MarkupSyntax): Thing[] {
  const roots: Thing[] = [];
  $(syntax.scope).each((_, el) => {
    // An item that is a property of another is read with that one.
    const owner = $(el).parent().closest(syntax.scope);
    if (el.attribs[syntax.propAttr] !== undefined && owner.length) return;
    roots.push(readItem($, el, ctx, syntax));
  });
  return roots;
}

function readItem($: CheerioAPI, item: Element, ctx: Context, syntax: MarkupSyntax): Thing {
  const types = (item.attribs[syntax.typeAttr] ?? '').split(/\s+/).filter(Boolean).map(localName);
  const props = new Map<string, Value[]>();
  const visit = (el: Element) => {
    $(el)
      .children()
      .each((_, child) => {
        const names = (child.attribs[syntax.propAttr] ?? '').split(/\s+/).filter(Boolean).map(localName);
        const nested = child.attribs[syntax.scope.slice(1, -1)] !== undefined;
        if (names.length) {
          const value = nested ? readItem($, child, ctx, syntax) : elementValue($, child, ctx.pageUrl);
          for (const name of names) props.set(name, [...(props.get(name) ?? []), value]);
        }
        if (!nested) visit(child);
      });
  };
  visit(item);
  return { kind: 'thing', types, props };
}

/** An element's value as microdata and RDFa define it: an attribute for data elements, else its text. */
function elementValue($: CheerioAPI, el: Element, pageUrl: string): Literal {
  const a = el.attribs;
  if (a['content'] !== undefined) return literal(a['content']);
  const urlAttr = { a: 'href', link: 'href', area: 'href', img: 'src', source: 'src', audio: 'src', video: 'src', iframe: 'src', embed: 'src', track: 'src', object: 'data' }[el.tagName];
  if (urlAttr && a[urlAttr] !== undefined) return literal(absoluteUrl(a[urlAttr], pageUrl) ?? a[urlAttr]);
  if (a['resource'] !== undefined) return literal(a['resource']);
  if ((el.tagName === 'data' || el.tagName === 'meter') && a['value'] !== undefined) return literal(a['value']);
  if (el.tagName === 'time' && a['datetime'] !== undefined) return literal(a['datetime']);
  return literal(collapse($(el).text()), true);
}

// ---------------------------------------------------------------------------------------------
// Things → products.

const productTypes = new Set(['Product', 'ProductModel', 'IndividualProduct', 'SomeProducts', 'Vehicle']);

function productsFromThings(roots: Thing[], ctx: Context, source: ProductSource): ScrapedProduct[] {
  const out: ScrapedProduct[] = [];
  const seen = new Set<Thing>();
  const visit = (thing: Thing, depth: number) => {
    if (seen.has(thing) || depth > 12) return;
    seen.add(thing);
    if (thing.types.includes('ProductGroup')) {
      const variants = things(thing, 'hasVariant').filter((v) => v.types.some((t) => productTypes.has(t)));
      if (variants.length) {
        for (const variant of variants) out.push(...productFromThing(variant, ctx, source, thing));
        return;
      }
      out.push(...productFromThing(thing, ctx, source, undefined));
      return;
    }
    if (thing.types.some((t) => productTypes.has(t))) {
      out.push(...productFromThing(thing, ctx, source, undefined));
      return;
    }
    // Pages wrap products in WebPage, ItemList/ListItem, @graph…: look inside.
    for (const values of thing.props.values()) for (const v of values) if (v.kind === 'thing') visit(v, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return out;
}

function things(thing: Thing | undefined, prop: string): Thing[] {
  return (thing?.props.get(prop) ?? []).filter((v): v is Thing => v.kind === 'thing');
}

function text(thing: Thing | undefined, prop: string): string | undefined {
  for (const v of thing?.props.get(prop) ?? []) {
    if (v.kind === 'literal') {
      const t = collapse(String(v.value));
      if (t) return t;
    }
  }
  return undefined;
}

function literalOf(thing: Thing | undefined, prop: string): Literal | undefined {
  return (thing?.props.get(prop) ?? []).find((v): v is Literal => v.kind === 'literal' && String(v.value).trim() !== '');
}

interface OfferReading {
  readonly price: Money | undefined;
  readonly priceFrom: boolean;
  readonly problem: ScrapedProduct['priceProblem'];
  readonly availability: Availability;
  readonly sku: string | undefined;
  readonly url: string | undefined;
  readonly name: string | undefined;
  readonly unit: string | undefined;
}

function productFromThing(thing: Thing, ctx: Context, source: ProductSource, group: Thing | undefined): ScrapedProduct[] {
  const name = text(thing, 'name') ?? text(group, 'name');
  if (!name) return [];
  const base = {
    supplier: ctx.supplier.slug,
    pageUrl: ctx.pageUrl,
    name,
    description: description(text(thing, 'description') ?? text(group, 'description')),
    imageUrl: imageOf(thing, ctx) ?? imageOf(group, ctx),
    sku: text(thing, 'sku') ?? text(thing, 'productID'),
    url: productUrl(text(thing, 'url'), ctx) ?? productUrl(text(group, 'url'), ctx) ?? ctx.canonical,
    source,
  };
  const offers = offerThings(thing).map((offer) => readOffer(offer, ctx));
  const distinct = new Set(offers.map((o) => o.sku ?? o.url ?? '')).size === offers.length && offers.every((o) => o.sku ?? o.url);
  // Several offers with their own SKU or address are the product's variants (Shopify writes its
  // variants this way): one product each.
  if (offers.length > 1 && distinct) {
    return offers.map((offer) =>
      finish({
        ...base,
        name: variantName(name, offer.name),
        sku: offer.sku ?? base.sku,
        url: productUrl(offer.url, ctx) ?? base.url,
        offer,
      }),
    );
  }
  return [finish({ ...base, offer: combineOffers(offers) })];
}

function finish(p: {
  supplier: string;
  pageUrl: string;
  name: string;
  description: string | undefined;
  imageUrl: string | undefined;
  sku: string | undefined;
  url: string;
  source: ProductSource;
  offer: OfferReading | undefined;
}): ScrapedProduct {
  const o = p.offer;
  return {
    supplier: p.supplier,
    url: p.url,
    pageUrl: p.pageUrl,
    ...(p.sku ? { sku: p.sku } : {}),
    name: p.name,
    ...(p.description ? { description: p.description } : {}),
    price: o?.price,
    ...(o?.priceFrom && o.price ? { priceFrom: true as const } : {}),
    ...(o?.problem ? { priceProblem: o.problem } : {}),
    availability: o?.availability ?? 'unknown',
    ...(p.imageUrl ? { imageUrl: p.imageUrl } : {}),
    ...(o?.unit ? { unit: o.unit } : {}),
    source: p.source,
  };
}

/** The product's offers, AggregateOffers opened up when they list their offers. */
function offerThings(thing: Thing): Thing[] {
  const out: Thing[] = [];
  for (const offer of things(thing, 'offers')) {
    const inner = offer.types.includes('AggregateOffer') ? things(offer, 'offers') : [];
    out.push(...(inner.length ? inner : [offer]));
  }
  return out;
}

function readOffer(offer: Thing, ctx: Context): OfferReading {
  const aggregate = offer.types.includes('AggregateOffer');
  // A list price or strike-through price is what it used to cost, not the price.
  const specs = things(offer, 'priceSpecification').filter((s) => !/ListPrice|StrikethroughPrice|MSRP|SRP/i.test(text(s, 'priceType') ?? ''));
  const spec = specs.find((s) => literalOf(s, 'price'));
  const low = literalOf(offer, 'lowPrice');
  const high = literalOf(offer, 'highPrice');
  const priceLiteral = literalOf(offer, 'price') ?? spec?.props.get('price')?.find((v): v is Literal => v.kind === 'literal') ?? (aggregate ? low : undefined);
  const currency = text(offer, 'priceCurrency') ?? text(spec, 'priceCurrency') ?? ctx.supplier.currency;
  const reading = priceLiteral ? readPrice(priceLiteral, currency) : { price: undefined, problem: undefined, from: false, unit: undefined };
  const rangeFrom = aggregate && priceLiteral === low && low !== undefined && high !== undefined && String(low.value) !== String(high.value);
  return {
    price: reading.price,
    priceFrom: reading.from || rangeFrom,
    problem: reading.problem,
    availability: availabilityOf(text(offer, 'availability')),
    sku: text(offer, 'sku'),
    url: text(offer, 'url'),
    name: text(offer, 'name'),
    unit: unitOf(spec) ?? reading.unit,
  };
}

function readPrice(value: Literal, currency: string): { price: Money | undefined; problem: ScrapedProduct['priceProblem']; from: boolean; unit: string | undefined } {
  const parsed = parsePrice(value.value, currency, { machine: !value.fromText });
  if (parsed.ok) return { price: { minor: parsed.minor, currency: parsed.currency }, problem: undefined, from: parsed.from ?? false, unit: parsed.unit };
  return { price: undefined, problem: { text: String(value.value), reason: parsed.reason, message: parsed.message }, from: false, unit: undefined };
}

/** Offers without their own SKU or address: one price, the lowest ("from") when they differ. */
function combineOffers(offers: OfferReading[]): OfferReading | undefined {
  if (offers.length <= 1) return offers[0];
  const priced = offers.filter((o) => o.price);
  const currencies = new Set(priced.map((o) => o.price!.currency));
  const lowest = currencies.size === 1 ? priced.reduce<OfferReading | undefined>((min, o) => (!min || o.price!.minor < min.price!.minor ? o : min), undefined) : undefined;
  const differ = new Set(priced.map((o) => o.price!.minor)).size > 1;
  const availability: Availability = offers.some((o) => o.availability === 'in-stock') ? 'in-stock' : offers.every((o) => o.availability === 'out-of-stock') ? 'out-of-stock' : 'unknown';
  const problem =
    currencies.size > 1
      ? { text: priced.map((o) => `${o.price!.minor} ${o.price!.currency}`).join(', '), reason: 'two-currencies' as const, message: 'the offers are in different currencies' }
      : (lowest?.problem ?? (lowest ? undefined : offers.find((o) => o.problem)?.problem));
  return {
    price: lowest?.price,
    priceFrom: differ || (lowest?.priceFrom ?? false),
    problem,
    availability,
    sku: undefined,
    url: undefined,
    name: undefined,
    unit: lowest?.unit,
  };
}

function variantName(base: string, offerName: string | undefined): string {
  if (!offerName || offerName === base) return base;
  return offerName.toLowerCase().includes(base.toLowerCase()) ? offerName : `${base} (${offerName})`;
}

const inStock = new Set(['instock', 'limitedavailability', 'instoreonly', 'onlineonly', 'madetoorder', 'in stock', 'available', 'available for order']);
const outOfStock = new Set(['outofstock', 'soldout', 'discontinued', 'backorder', 'preorder', 'presale', 'oos', 'out of stock', 'sold out', 'unavailable', 'pending']);

/**
 * schema.org availability (`https://schema.org/InStock`) or OpenGraph's (`instock`, `oos`).
 * What can be bought now is in stock (made to order and limited too); back-order, pre-order
 * and discontinued are out of stock; anything else is unknown.
 */
function availabilityOf(value: string | undefined): Availability {
  if (!value) return 'unknown';
  const key = localName(value).toLowerCase();
  if (inStock.has(key)) return 'in-stock';
  if (outOfStock.has(key)) return 'out-of-stock';
  return 'unknown';
}

/** Availability from a page's own words (a selector's text). */
function availabilityFromText(value: string): Availability {
  const t = value.toLowerCase();
  if (/schema\.org\//.test(t)) return availabilityOf(t);
  if (/\b(out of stock|sold out|unavailable|not available|no stock|currently unavailable)\b/.test(t)) return 'out-of-stock';
  if (/\b(in stock|available|add to (basket|cart|bag)|buy now|\d+ left)\b/.test(t)) return 'in-stock';
  return 'unknown';
}

// UN/CEFACT common codes schema.org uses in unitCode, for the units shops sell by.
const unitCodes: Record<string, string> = { KGM: 'kg', GRM: 'g', LTR: 'l', MLT: 'ml', H87: 'each', C62: 'each', EA: 'each', DZN: 'dozen', LBR: 'lb', ONZ: 'oz' };

function unitOf(spec: Thing | undefined): string | undefined {
  if (!spec) return undefined;
  const quantity = things(spec, 'referenceQuantity')[0];
  const unitText = text(quantity, 'unitText') ?? text(spec, 'unitText');
  const code = text(quantity, 'unitCode') ?? text(spec, 'unitCode');
  const unit = unitText ?? (code ? (unitCodes[code.toUpperCase()] ?? code) : undefined);
  if (!unit) return undefined;
  const amount = text(quantity, 'value');
  return amount && amount !== '1' ? `${amount} ${unit}` : unit;
}

function imageOf(thing: Thing | undefined, ctx: Context): string | undefined {
  for (const v of thing?.props.get('image') ?? []) {
    const raw = v.kind === 'literal' ? String(v.value) : (text(v, 'url') ?? text(v, 'contentUrl'));
    const url = raw ? absoluteUrl(raw, ctx.pageUrl) : undefined;
    if (url) return url;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// OpenGraph and selectors.

function openGraphProducts(ctx: Context): ScrapedProduct[] {
  const { $ } = ctx;
  const meta = (key: string) => {
    const el = $(`meta[property="${key}"], meta[name="${key}"]`).first();
    const value = el.attr('content');
    return value === undefined ? undefined : collapse(value) || undefined;
  };
  const type = meta('og:type')?.toLowerCase();
  if (type !== 'product' && type !== 'product.item' && type !== 'og:product') return [];
  const name = meta('og:title');
  if (!name) return [];
  const amount = meta('product:price:amount') ?? meta('og:price:amount') ?? meta('product:sale_price:amount');
  const currency = meta('product:price:currency') ?? meta('og:price:currency') ?? ctx.supplier.currency;
  const reading = amount ? readPrice(literal(amount), currency) : undefined;
  const image = meta('og:image:secure_url') ?? meta('og:image');
  const imageUrl = image ? absoluteUrl(image, ctx.pageUrl) : undefined;
  const sku = meta('product:retailer_item_id');
  const desc = description(meta('og:description'));
  return [
    {
      supplier: ctx.supplier.slug,
      url: productUrl(meta('og:url'), ctx) ?? ctx.canonical,
      pageUrl: ctx.pageUrl,
      ...(sku ? { sku } : {}),
      name,
      ...(desc ? { description: desc } : {}),
      price: reading?.price,
      ...(reading?.from && reading.price ? { priceFrom: true as const } : {}),
      ...(reading?.problem ? { priceProblem: reading.problem } : {}),
      availability: availabilityOf(meta('product:availability') ?? meta('og:availability')),
      ...(imageUrl ? { imageUrl } : {}),
      ...(reading?.unit ? { unit: reading.unit } : {}),
      source: 'opengraph',
    },
  ];
}

function selectorProducts(ctx: Context): ScrapedProduct[] {
  const selectors = ctx.supplier.selectors;
  if (!selectors) return [];
  const { $ } = ctx;
  const first = (selector: string | undefined) => (selector ? $(selector).first() : undefined);
  const textOf = (selector: string | undefined) => {
    const el = first(selector);
    if (!el?.length) return undefined;
    return collapse(el.attr('content') ?? el.text()) || undefined;
  };
  const name = textOf(selectors.name);
  if (!name) return [];
  const priceEl = first(selectors.price);
  const priceContent = priceEl?.attr('content');
  const priceText = priceEl?.length ? collapse(priceContent ?? priceEl.text()) : '';
  const reading = priceText ? readPrice(literal(priceText, priceContent === undefined), ctx.supplier.currency) : undefined;
  const imageEl = first(selectors.image);
  const imageRaw = imageEl?.attr('src') ?? imageEl?.attr('data-src') ?? imageEl?.attr('content') ?? imageEl?.attr('href') ?? imageEl?.attr('srcset')?.trim().split(/\s+/)[0];
  const imageUrl = imageRaw ? absoluteUrl(imageRaw, ctx.pageUrl) : undefined;
  const availabilityEl = first(selectors.availability);
  const availabilityText = availabilityEl?.length ? (availabilityEl.attr('content') ?? availabilityEl.attr('href') ?? availabilityEl.text()) : undefined;
  const sku = textOf(selectors.sku);
  const desc = description(textOf(selectors.description));
  const unit = textOf(selectors.unit) ?? reading?.unit;
  return [
    {
      supplier: ctx.supplier.slug,
      url: ctx.canonical,
      pageUrl: ctx.pageUrl,
      ...(sku ? { sku } : {}),
      name,
      ...(desc ? { description: desc } : {}),
      price: reading?.price,
      ...(reading?.from && reading.price ? { priceFrom: true as const } : {}),
      ...(reading?.problem ? { priceProblem: reading.problem } : {}),
      availability: availabilityText === undefined ? 'unknown' : availabilityFromText(availabilityText),
      ...(imageUrl ? { imageUrl } : {}),
      ...(unit ? { unit } : {}),
      source: 'selectors',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Links.

export interface PageLinks {
  /** Links matching the supplier's `productUrlPattern`. */
  readonly products: string[];
  /** Links matching `listingUrlPattern`, and the page's `rel="next"`. */
  readonly listings: string[];
  /** Other links on allowed hosts; a crawl follows them only when the supplier has no patterns. */
  readonly other: string[];
}

/**
 * The links of a page a crawl may follow: on the supplier's allowed hosts, http(s), without
 * #fragments, deduplicated, `rel="nofollow"` left out; sorted into products, listings (with
 * `rel="next"` pagination) and the rest by the supplier's patterns.
 */
export function extractLinks(html: string, pageUrl: string, supplier: ExtractSupplier): PageLinks {
  const $ = load(html);
  const base = absoluteUrl($('base[href]').first().attr('href') ?? '', pageUrl) ?? pageUrl;
  const productPattern = supplier.productUrlPattern ? new RegExp(supplier.productUrlPattern) : undefined;
  const listingPattern = supplier.listingUrlPattern ? new RegExp(supplier.listingUrlPattern) : undefined;
  const out = { products: new Set<string>(), listings: new Set<string>(), other: new Set<string>() };
  $('a[href], area[href], link[rel~="next" i][href]').each((_, el) => {
    const rel = (el.attribs['rel'] ?? '').toLowerCase().split(/\s+/);
    if (rel.includes('nofollow')) return;
    const url = absoluteUrl(el.attribs['href'] ?? '', base);
    if (!url || !isHostAllowed(new URL(url), supplier.allowedHosts)) return;
    if (url === withoutHash(pageUrl)) return;
    if (productPattern?.test(url)) out.products.add(url);
    else if (rel.includes('next') || listingPattern?.test(url)) out.listings.add(url);
    else out.other.add(url);
  });
  return { products: [...out.products], listings: [...out.listings], other: [...out.other] };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function canonicalOf($: CheerioAPI, pageUrl: string, supplier: ExtractSupplier): string {
  return productUrl($('link[rel~="canonical" i]').first().attr('href'), { pageUrl, supplier }) ?? withoutHash(pageUrl);
}

/** An address the page gives for a product, when it is on an allowed host. */
function productUrl(raw: string | undefined, ctx: Pick<Context, 'pageUrl' | 'supplier'>): string | undefined {
  if (!raw) return undefined;
  const url = absoluteUrl(raw, ctx.pageUrl);
  return url && isHostAllowed(new URL(url), ctx.supplier.allowedHosts) ? url : undefined;
}

function absoluteUrl(raw: string, base: string): string | undefined {
  const trimmed = raw.trim();
  if (!trimmed) return undefined;
  try {
    const url = new URL(trimmed, base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    url.hash = '';
    return url.toString();
  } catch {
    return undefined;
  }
}

function withoutHash(raw: string): string {
  return absoluteUrl(raw, raw) ?? raw;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Plain text (tags dropped, entities decoded), at most 2000 characters, cut at a word. */
function description(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const plain = collapse(/<[a-z!/]/i.test(raw) ? load(`<div>${raw}</div>`)('div').first().text() : raw);
  if (!plain) return undefined;
  if (plain.length <= descriptionLimit) return plain;
  const cut = plain.slice(0, descriptionLimit - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > descriptionLimit * 0.8 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** One product per (url, sku): the first found wins. */
function dedupe(products: ScrapedProduct[]): ScrapedProduct[] {
  const seen = new Set<string>();
  return products.filter((p) => {
    const key = productKey(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What identifies a supplier's product across runs: its URL, and its SKU when it has one. */
export function productKey(p: { readonly url: string; readonly sku?: string | undefined }): string {
  return p.sku ? `${p.url} ${p.sku}` : p.url;
}
