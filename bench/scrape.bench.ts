/**
 * Supplier-scrape benchmark: `npm run bench -- --only scrape [--pages 1000 --polite-pages 20]`.
 *
 * "Scrape of 1,000 product pages from a loopback supplier with the rate limit off: pages/s and
 * peak RSS; with the default politeness limit, confirm the limit is what bounds it."
 *
 * 1. A supplier's shop on 127.0.0.1, a node:http server in its own child process: robots.txt
 *    allowing everyone, a sitemap of N product pages, each 15–30 KB of HTML (gzipped when asked,
 *    as shops do) with JSON-LD Product/Offer (names, prices, SKUs and stock vary; every 8th page
 *    sells two sizes as two offers with their own SKUs), ETag and Last-Modified (304 when they
 *    match), and 6 small JPEGs (400×300) the products share.
 * 2. Rate limit off (rateLimitMs 0, 4 requests at a time), each phase in its own process so its
 *    peak RSS is its own (bench/report-rusage.mjs):
 *    - crawl: `scrapeSupplier` alone: a first run in a new process, a second with the first's
 *      validators (every page a 304), a third like the first (warm);
 *    - end to end: `runScrapes` into a fresh in-memory PGlite (createTestDatabase, migrated) —
 *      crawl, images, one transaction — then again (every page a 304). It starts 4 s after the
 *      database opened, when PGlite's own start-up burst of memory is over; the peak RSS of
 *      each step is printed.
 * 3. Default politeness (1000 ms between request starts per host, 2 at a time) on M pages:
 *    `scrapeSupplier`'s wall time against the least the limit allows, (requests − 1) × 1 s with
 *    requests = robots.txt + sitemap + M pages, and the gaps between request starts as the shop
 *    saw them (arrivals: connection jitter can make one gap a little under the interval); the
 *    same for a second (conditional) run; then `runScrapes` end to end, whose images are fetched
 *    under the same limit (through a limiter of their own: two sequences of request starts).
 * The scraper's CPU per page and the shop's (its own process) are printed too: on a busy shared
 * machine they are steadier than pages/s. The shop and the phases run in the same process tree
 * on the same cores, so the shop's work (~0.5 ms/page) is part of the figures.
 * Prints a table with the load average (1 min) beside every figure, and the ratios.
 */
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { SupplierConfig } from '@rose/market';

const thisFile = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(thisFile), '..');
const { values } = parseArgs({
  options: { pages: { type: 'string', default: '1000' }, 'polite-pages': { type: 'string' }, phase: { type: 'string' }, origin: { type: 'string' } },
  strict: false,
});
const pages = Number(values.pages);
// Default 20, or all the pages when there are fewer.
const politePages = values['polite-pages'] === undefined ? Math.min(20, pages) : Number(values['polite-pages']);
if (!Number.isInteger(pages) || pages < 10 || pages > 50_000) fail('--pages must be a whole number from 10 to 50000 (one sitemap holds at most 50,000 URLs)');
if (!Number.isInteger(politePages) || politePages < 0 || politePages > Math.min(pages, 600)) fail(`--polite-pages must be a whole number from 0 (skip) to ${Math.min(pages, 600)} (at most --pages; each page takes a second)`);

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () => os.loadavg()[0]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const intervalMs = 1000; // the engine's default rateLimitMs (crawl.ts, host-limiter.ts)

// ---------------------------------------------------------------------------------------------
// The shop: every page made from its index, the same in every process.

const farms = ['Hill Farm', 'Valley Growers', 'Brook Dairy', 'Oak Orchard', 'Moor Apiary', 'Fen Mill', 'Ridge Bakery', 'Meadow Co-op', 'Heath Preserves', 'Willow Smokehouse', 'Tor Creamery', 'Marsh Greens'];
const adjectives = ['Organic', 'Heritage', 'Wild', 'Smoked', 'Raw', 'Stoneground', 'Free-range', 'Hand-picked', 'Cold-pressed', 'Aged'];
const items: [string, string][] = [
  ['carrots', 'Vegetables'], ['honey', 'Pantry'], ['oat flour', 'Baking'], ['apple juice', 'Drinks'], ['cheddar', 'Dairy'], ['sourdough', 'Bakery'], ['eggs', 'Dairy'], ['leeks', 'Vegetables'],
  ['kale', 'Vegetables'], ['damson jam', 'Pantry'], ['rapeseed oil', 'Pantry'], ['potatoes', 'Vegetables'], ['beetroot', 'Vegetables'], ['goat cheese', 'Dairy'], ['chutney', 'Pantry'], ['porridge oats', 'Baking'],
];
const sizes = ['250 g', '340 g', '500 g', '1 kg', '2 kg', '75 cl', 'box of 6'];
const words = 'the a of and to in our from with is are for on each by we grown picked small batch hand local soil season spring summer autumn winter field orchard hive pasture slow fresh kept stored milled pressed cured aged flavour sweet sharp earthy rich light deep golden green crisp tender morning harvest weather rain sun frost valley hill farm family kitchen bread butter cheese honey apples oats barley seeds roots leaves water stone wooden barn market week order delivery box'.split(' ');
const imageCount = 6;
const lastModified = new Date(Date.UTC(2026, 10, 1, 10)).toUTCString();

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const slugify = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Offer {
  sku: string;
  name?: string;
  price: string;
  inStock: boolean;
}
/** One product of the shop: who, what, where, and its offers (one, or two sizes on every 8th page). */
function item(i: number) {
  const r = mulberry32(i * 7919 + 17);
  const farm = farms[i % farms.length]!;
  const adjective = adjectives[Math.floor(i / farms.length) % adjectives.length]!;
  const [what, category] = items[Math.floor(i / (farms.length * adjectives.length)) % items.length]!;
  const lot = Math.floor(i / (farms.length * adjectives.length * items.length));
  const size = sizes[Math.floor(r() * sizes.length)]!;
  const name = `${farm} ${adjective.toLowerCase()} ${what}, ${size}${lot ? ` (lot ${lot + 1})` : ''}`;
  const price = 0.85 + Math.floor(r() * 4500) / 100;
  const sku = `${farm.split(' ').map((w) => w[0]).join('')}-${String(i).padStart(5, '0')}`;
  const inStock = i % 9 !== 4;
  const offers: Offer[] =
    i % 8 === 3
      ? [
          { sku: `${sku}-S`, name: 'Small', price: price.toFixed(2), inStock },
          { sku: `${sku}-L`, name: 'Large', price: (price * 1.8).toFixed(2), inStock: true },
        ]
      : [{ sku, price: price.toFixed(2), inStock }];
  return { i, r, farm, category, name, path: `/products/${slugify(name)}-p${i}`, image: `/img/photo-${i % imageCount}.jpg`, offers, target: 15_000 + Math.floor(r() * 15_000) };
}

/** Products the engine should find on the first `n` pages (two per two-offer page). */
const scrapedProductsOf = (n: number) => Array.from({ length: n }, (_, i) => item(i).offers.length).reduce((a, b) => a + b, 0);

const sentence = (r: () => number) => {
  const n = 8 + Math.floor(r() * 12);
  const s = Array.from({ length: n }, () => words[Math.floor(r() * words.length)]!).join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
};
const paragraph = (r: () => number) => Array.from({ length: 3 + Math.floor(r() * 4) }, () => sentence(r)).join(' ');

// Inlined critical CSS, the same on every page, as shop themes do.
const css = Array.from({ length: 60 }, (_, k) => `.c${k}{margin:${k % 7}px ${k % 5}px;padding:${k % 3}rem;color:#${((k * 2654435) & 0xffffff).toString(16).padStart(6, '0')};font:${12 + (k % 8)}px/1.4 system-ui,sans-serif}`).join('');
const categories = [...new Set(items.map(([, c]) => c))];

function productPage(origin: string, i: number, total: number): string {
  const p = item(i);
  const r = p.r;
  const url = `${origin}${p.path}`;
  const description = `${sentence(r)} ${sentence(r)}`;
  const offers = p.offers.map((o) => ({
    '@type': 'Offer',
    ...(p.offers.length > 1 ? { sku: o.sku, name: o.name } : {}),
    price: o.price,
    priceCurrency: 'GBP',
    availability: o.inStock ? 'https://schema.org/InStock' : 'https://schema.org/OutOfStock',
    itemCondition: 'https://schema.org/NewCondition',
    priceValidUntil: '2027-12-31',
    seller: { '@type': 'Organization', name: p.farm },
  }));
  const product = {
    '@context': 'https://schema.org',
    '@type': 'Product',
    name: p.name,
    ...(p.offers.length === 1 ? { sku: p.offers[0]!.sku } : {}),
    url,
    image: [`${origin}${p.image}`],
    description,
    brand: { '@type': 'Brand', name: p.farm },
    category: p.category,
    aggregateRating: { '@type': 'AggregateRating', ratingValue: (3.5 + r() * 1.5).toFixed(1), reviewCount: 3 + Math.floor(r() * 60) },
    offers: p.offers.length === 1 ? offers[0] : offers,
  };
  const breadcrumbs = { '@context': 'https://schema.org', '@type': 'BreadcrumbList', itemListElement: [{ '@type': 'ListItem', position: 1, name: 'Shop', item: `${origin}/` }, { '@type': 'ListItem', position: 2, name: p.category, item: `${origin}/collections/${slugify(p.category)}` }] };
  const related = Array.from({ length: 8 }, (_, k) => item((i + 1 + k * 37) % total));
  const head = `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>${esc(p.name)} | ${esc(p.farm)} | Meadow Market</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="description" content="${esc(description)}">
<link rel="canonical" href="${url}"><meta property="og:type" content="product"><meta property="og:title" content="${esc(p.name)}"><meta property="og:image" content="${origin}${p.image}">
<style>${css}</style>
<script type="application/ld+json">${JSON.stringify(breadcrumbs)}</script>
<script type="application/ld+json">${JSON.stringify(product)}</script></head><body class="c1">`;
  const header = `<header class="c2"><a href="/" class="c3">Meadow Market</a><form action="/search" class="c4"><input name="q" placeholder="Search"></form><nav class="c5"><ul>${categories.map((c) => `<li><a href="/collections/${slugify(c)}">${c}</a><ul>${farms.map((f) => `<li><a href="/collections/${slugify(c)}?farm=${slugify(f)}">${esc(f)}</a></li>`).join('')}</ul></li>`).join('')}</ul></nav><a href="/account">Account</a> <a href="/basket">Basket (0)</a></header>`;
  const main = `<main class="c6"><nav class="c7"><a href="/">Shop</a> › <a href="/collections/${slugify(p.category)}">${p.category}</a> › ${esc(p.name)}</nav>
<div class="c8"><img src="${p.image}" width="400" height="300" alt="${esc(p.name)}">${[1, 2, 3].map((k) => `<img src="/img/photo-${(i + k) % imageCount}.jpg" width="80" height="60" alt="">`).join('')}</div>
<h1 class="c9">${esc(p.name)}</h1><p class="c10">${p.offers.map((o) => `${o.name ? `${o.name}: ` : ''}£${o.price}${o.inStock ? '' : ' (sold out)'}`).join(' · ')}</p>
<form action="/basket/add" method="post" class="c11"><input type="hidden" name="sku" value="${p.offers[0]!.sku}"><select name="qty">${Array.from({ length: 10 }, (_, k) => `<option>${k + 1}</option>`).join('')}</select><button>Add to basket</button></form>
<section class="c12"><h2>About this product</h2><p>${esc(description)}</p><p>${paragraph(r)}</p></section>
<table class="c13"><caption>Typical values per 100 g</caption>${['Energy', 'Fat', 'of which saturates', 'Carbohydrate', 'of which sugars', 'Fibre', 'Protein', 'Salt'].map((n) => `<tr><th>${n}</th><td>${(r() * 40).toFixed(1)} g</td></tr>`).join('')}</table>
<section class="c14"><h2>Reviews</h2>${Array.from({ length: 3 + Math.floor(r() * 4) }, (_, k) => `<article class="c15"><h3>${'★'.repeat(3 + ((i + k) % 3))} ${esc(sentence(r))}</h3><p>${paragraph(r)}</p><footer>${farms[(i + k) % farms.length]} customer, ${1 + (k % 28)} Oct 2026</footer></article>`).join('')}</section>
<section class="c16"><h2>You may also like</h2><ul>${related.map((q) => `<li class="c17"><a href="${q.path}"><img src="${q.image}" width="200" height="150" alt="" loading="lazy">${esc(q.name)}</a> £${q.offers[0]!.price}</li>`).join('')}</ul></section>`;
  const footer = `</main><footer class="c18"><ul>${['About us', 'Our farms', 'Delivery', 'Returns', 'Contact', 'Trade accounts', 'Gift cards', 'Recipes', 'Journal', 'Careers', 'Privacy', 'Terms', 'Cookies', 'Accessibility'].map((l) => `<li><a href="/pages/${slugify(l)}">${l}</a></li>`).join('')}</ul>
<form action="/newsletter" class="c19"><input type="email" name="email"><button>Sign up</button></form><p>Meadow Market Co-operative Ltd, Unit 4, The Old Dairy, Somerset. Registered society no. 12345.</p></footer>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','G-XXXX',{page_path:${JSON.stringify(p.path)}});</script></body></html>`;
  let story = '';
  while (head.length + header.length + main.length + story.length + footer.length < p.target) story += `<p>${paragraph(r)}</p>`;
  return `${head}${header}${main}<section class="c20"><h2>From ${esc(p.farm)}</h2>${story}</section>${footer}`;
}

/** What the shop saw since the last reset. */
interface ShopStats {
  robots: number;
  sitemaps: number;
  pages: number;
  notModified: number;
  images: number;
  other: number;
  bytes: number;
  /** Arrival times of every request (epoch ms). */
  starts: number[];
  lastImageAt: number;
  cpuMicros: number;
}

async function runShop(): Promise<void> {
  const sharp = (await import('sharp')).default;
  // Photo-like: smooth noise in a colour of its own, ~400×300 at quality 80.
  const images = await Promise.all(
    Array.from({ length: imageCount }, (_, k) =>
      sharp({ create: { width: 400, height: 300, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 70 + k * 25, sigma: 60 } } })
        .blur(4)
        .tint({ r: 120 + k * 20, g: 160 - k * 10, b: 80 + k * 15 })
        .jpeg({ quality: 80 })
        .toBuffer(),
    ),
  );
  const table = new Map<string, { body: Buffer; gz: Buffer; etag: string }>();
  let stats: ShopStats;
  let cpu = process.cpuUsage();
  const reset = () => {
    stats = { robots: 0, sitemaps: 0, pages: 0, notModified: 0, images: 0, other: 0, bytes: 0, starts: [], lastImageAt: 0, cpuMicros: 0 };
    cpu = process.cpuUsage();
  };
  reset();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://shop');
    if (url.pathname === '/__bench/stats') {
      const used = process.cpuUsage(cpu);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...stats!, cpuMicros: used.user + used.system }));
      if (url.searchParams.has('reset')) reset();
      return;
    }
    stats!.starts.push(performance.timeOrigin + performance.now());
    const send = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
      stats!.bytes += bytes.length;
      res.writeHead(status, { 'content-length': String(bytes.length), ...headers }).end(bytes);
    };
    if (url.pathname === '/robots.txt') {
      stats!.robots++;
      return send(200, { 'content-type': 'text/plain; charset=utf-8' }, `User-agent: *\nAllow: /\n\nSitemap: ${origin}/sitemap.xml\n`);
    }
    if (url.pathname === '/sitemap.xml') {
      stats!.sitemaps++;
      const limit = Math.min(pages, Number(url.searchParams.get('limit') ?? pages));
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${Array.from({ length: limit }, (_, i) => `<url><loc>${origin}${item(i).path}</loc><lastmod>2026-11-01</lastmod><changefreq>weekly</changefreq></url>`).join('\n')}\n</urlset>\n`;
      return send(200, { 'content-type': 'application/xml' }, body);
    }
    const image = /^\/img\/photo-(\d+)\.jpg$/.exec(url.pathname);
    if (image && images[Number(image[1])]) {
      stats!.images++;
      stats!.lastImageAt = performance.timeOrigin + performance.now();
      return send(200, { 'content-type': 'image/jpeg', 'cache-control': 'public, max-age=86400' }, images[Number(image[1])]!);
    }
    const page = table.get(url.pathname);
    if (!page) {
      stats!.other++;
      return send(404, { 'content-type': 'text/plain' }, 'not found');
    }
    const inm = req.headers['if-none-match'];
    if (inm === page.etag || (inm === undefined && req.headers['if-modified-since'] === lastModified)) {
      stats!.notModified++;
      return void res.writeHead(304, { etag: page.etag, 'last-modified': lastModified }).end();
    }
    stats!.pages++;
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    send(200, { 'content-type': 'text/html; charset=utf-8', etag: page.etag, 'last-modified': lastModified, 'cache-control': 'public, max-age=300', vary: 'Accept-Encoding', ...(gzip ? { 'content-encoding': 'gzip' } : {}) }, gzip ? page.gz : page.body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let raw = 0;
  let zipped = 0;
  const sizesSeen: number[] = [];
  for (let i = 0; i < pages; i++) {
    const body = Buffer.from(productPage(origin, i, pages));
    const gz = gzipSync(body, { level: 6 });
    table.set(item(i).path, { body, gz, etag: `"p${i}-${body.length.toString(36)}"` });
    raw += body.length;
    zipped += gz.length;
    sizesSeen.push(body.length);
  }
  sizesSeen.sort((a, b) => a - b);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  log(`SHOP ${origin} ${JSON.stringify({ pages, kib: raw / 1024, gzKib: zipped / 1024, min: sizesSeen[0], median: median(sizesSeen), max: sizesSeen.at(-1), imageBytes: images.map((b) => b.length) })}`);
}

// ---------------------------------------------------------------------------------------------
// The phases, each in its own process.

function benchSupplier(origin: string, opts: { rateLimitMs?: number; concurrency?: number; limit?: number }): SupplierConfig {
  return {
    slug: 'bench-shop',
    name: 'Meadow Market (bench)',
    producer: 'bench-shop',
    sitemap: `${origin}/sitemap.xml${opts.limit !== undefined ? `?limit=${opts.limit}` : ''}`,
    allowedHosts: [new URL(origin).host],
    productUrlPattern: '/products/[a-z0-9-]+$',
    maxPages: (opts.limit ?? pages) + 10,
    currency: 'GBP',
    ...(opts.rateLimitMs !== undefined ? { rateLimitMs: opts.rateLimitMs } : {}),
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
  };
}

async function shopStats(origin: string): Promise<ShopStats> {
  const res = await fetch(`${origin}/__bench/stats?reset`);
  return (await res.json()) as ShopStats;
}

/** One timed piece of work: wall seconds, this process's CPU seconds, the shop's view, the load after it. */
async function timed<T>(origin: string, work: () => Promise<T>): Promise<{ value: T; seconds: number; cpu: number; shop: ShopStats; load: number }> {
  await shopStats(origin);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  return { value, seconds, cpu: (used.user + used.system) / 1e6, shop: await shopStats(origin), load: load() };
}

const epochNow = () => performance.timeOrigin + performance.now();
/** This process's peak RSS so far in MiB (VmHWM; the current RSS where there is no /proc). */
const peakMiB = () => {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 1048576;
};
const gapsOf = (starts: number[]) => {
  const s = [...starts].sort((a, b) => a - b);
  return s.slice(1).map((t, k) => t - s[k]!);
};

interface Row {
  step: string;
  pages: number;
  seconds: number;
  cpu: number;
  shopCpu: number;
  load: number;
  note?: string;
}
const rowOf = (step: string, n: number, t: { seconds: number; cpu: number; shop: ShopStats; load: number }, note?: string): Row => ({ step, pages: n, seconds: t.seconds, cpu: t.cpu, shopCpu: t.shop.cpuMicros / 1e6, load: t.load, ...(note ? { note } : {}) });

async function crawlPhase(origin: string) {
  const { scrapeSupplier } = await import('@rose/market');
  const baseRss = process.memoryUsage().rss;
  const supplier = benchSupplier(origin, { rateLimitMs: 0, concurrency: 4 });
  const expected = scrapedProductsOf(pages);
  const check = (r: Awaited<ReturnType<typeof scrapeSupplier>>, conditional: boolean) => {
    if (r.errors.length) throw new Error(`the crawl had ${r.errors.length} error(s): ${r.errors.slice(0, 3).map((e) => e.message).join('; ')}`);
    if (conditional ? r.notModified.length !== pages : r.products.length !== expected) throw new Error(`expected ${conditional ? `${pages} unchanged pages` : `${expected} products`}, got ${r.products.length} products, ${r.notModified.length} unchanged`);
  };
  const first = await timed(origin, () => scrapeSupplier(supplier, { allowPrivateAddresses: true }));
  check(first.value, false);
  const peaks = [`imports ${(baseRss / 1048576).toFixed(0)}`, `first run ${peakMiB().toFixed(0)}`];
  log(`crawl, new process: ${pages} pages (${first.value.products.length} products) in ${first.seconds.toFixed(2)} s, ${(pages / first.seconds).toFixed(0)} pages/s, ${((first.cpu * 1000) / pages).toFixed(2)} ms CPU/page (load ${first.load.toFixed(1)})`);
  const again = await timed(origin, () => scrapeSupplier(supplier, { allowPrivateAddresses: true, previous: first.value.validators }));
  check(again.value, true);
  peaks.push(`second run ${peakMiB().toFixed(0)}`);
  if (again.shop.notModified !== pages) throw new Error(`the shop answered ${again.shop.notModified} 304s, expected ${pages}`);
  log(`crawl again, conditional: ${again.shop.notModified} × 304 in ${again.seconds.toFixed(2)} s, ${(pages / again.seconds).toFixed(0)} pages/s (load ${again.load.toFixed(1)})`);
  const warm = await timed(origin, () => scrapeSupplier(supplier, { allowPrivateAddresses: true }));
  check(warm.value, false);
  log(`crawl, warm: ${pages} pages in ${warm.seconds.toFixed(2)} s, ${(pages / warm.seconds).toFixed(0)} pages/s, ${((warm.cpu * 1000) / pages).toFixed(2)} ms CPU/page (load ${warm.load.toFixed(1)})`);
  log(`  peak RSS so far (MiB), step by step: ${peaks.join(', ')}, third run ${peakMiB().toFixed(0)}`);
  // What is left once the garbage is collected (the three results still held): a peak far above
  // it is the heap growing under the parsers' garbage, not something kept.
  (globalThis as { gc?: () => void }).gc?.();
  const retained = process.memoryUsage();
  log(`  after a full GC: heap used ${(retained.heapUsed / 1048576).toFixed(0)} MiB, RSS ${(retained.rss / 1048576).toFixed(0)} MiB (load ${load().toFixed(1)})`);
  return {
    baseRssMiB: baseRss / 1048576,
    retainedHeapMiB: retained.heapUsed / 1048576,
    rows: [rowOf('crawl, new process (scrapeSupplier)', pages, first), rowOf('crawl again, conditional (all 304)', pages, again), rowOf('crawl, warm (third run)', pages, warm)],
  };
}

async function e2ePhase(origin: string) {
  // test-database.ts itself, not @rose/testing's index (which loads playwright-core): its
  // memory would count against the phase.
  const { createTestDatabase } = await import('@rose/testing/test-database');
  const { createMarketManager } = await import('@rose/market');
  const { runScrapes } = await import('@rose/market');
  const { processImage } = await import('@rose/media');
  const { sql } = await import('kysely');
  const baseRss = process.memoryUsage().rss;
  const t = await createTestDatabase('pglite');
  try {
    const added = await createMarketManager({ db: t.db }).addProducer('cli:bench', { slug: 'bench-shop', name: 'Meadow Market (bench)' });
    if (!added.ok) throw new Error(`addProducer: ${JSON.stringify(added.error)}`);
    const dbRss = peakMiB() * 1048576;
    // PGlite's RSS climbs by ~0.5 GiB for a few seconds after it opens, then falls back (native
    // memory, not the JS heap; on disk too): waiting it out keeps it apart from the scrape's own.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const dbSettledPeak = peakMiB();
    const supplier = benchSupplier(origin, { concurrency: 4 });
    const expected = scrapedProductsOf(pages);
    let started = 0;
    let crawlEnd = 0;
    let txBodyEnd = 0;
    let end = 0;
    let crawlPeak = 0;
    let txPeak = 0;
    const scrape = async () => {
      started = epochNow();
      const runs = await runScrapes(t.db, [supplier], {
        allowPrivateAddresses: true,
        rateLimitMs: 0,
        onProgress: () => {
          crawlEnd = epochNow();
          crawlPeak = peakMiB();
        },
        afterChange: async () => {
          txBodyEnd = epochNow();
          txPeak = peakMiB();
        },
      });
      end = epochNow();
      return runs;
    };
    const peaks: string[] = [`imports ${(baseRss / 1048576).toFixed(0)}`, `migrated PGlite open ${(dbRss / 1048576).toFixed(0)}`, `4 s later (PGlite's start-up burst) ${dbSettledPeak.toFixed(0)}`];
    const first = await timed(origin, scrape);
    peaks.push(`crawl done ${crawlPeak.toFixed(0)}`, `images and transaction statements done ${txPeak.toFixed(0)}`, `first run ${peakMiB().toFixed(0)}`);
    const run = first.value[0]!;
    if (!run.ok) throw new Error(`runScrapes failed: ${run.error}`);
    if (run.report.new.length !== expected) throw new Error(`expected ${expected} new variants, the report says ${run.report.new.length} (${run.report.errors.length} errors: ${run.report.errors.slice(0, 3).map((e) => e.reason).join('; ')})`);
    const count = async (q: string) => Number((await sql<{ n: string }>`${sql.raw(q)}`.execute(t.db)).rows[0]!.n);
    const products = await count(`select count(*) as n from market_products where supplier = 'bench-shop'`);
    const variants = await count(`select count(*) as n from market_variants v join market_products p on p.id = v.product_id where p.supplier = 'bench-shop'`);
    const mediaImages = await count(`select count(*) as n from media_images where source = 'scrape'`);
    const mediaFiles = await count(`select count(*) as n from media_files`);
    const mediaBytes = await count(`select coalesce(sum(octet_length(bytes)), 0) as n from media_files`);
    const mediaListed = await count(`select count(*) as n from media_files where name in (select v->>'name' from media_images, jsonb_array_elements(variants) as v)`);
    if (products !== pages) throw new Error(`expected ${pages} products in market_products, found ${products}`);
    const crawlS = (crawlEnd - started) / 1000;
    const imagesS = first.shop.lastImageAt ? (first.shop.lastImageAt - crawlEnd) / 1000 : 0;
    const txS = (end - (first.shop.lastImageAt || crawlEnd)) / 1000;
    const txBodyS = txBodyEnd ? (txBodyEnd - (first.shop.lastImageAt || crawlEnd)) / 1000 : Number.NaN;
    log(
      `end to end: ${pages} pages → ${products} products, ${variants} variants in ${first.seconds.toFixed(2)} s, ${(pages / first.seconds).toFixed(1)} pages/s (load ${first.load.toFixed(1)}); ` +
        `crawl ~${crawlS.toFixed(1)} s, images ~${imagesS.toFixed(1)} s (${first.shop.images} image requests for ${imageCount} distinct image URLs), transaction ~${txS.toFixed(1)} s (statements ${txBodyS.toFixed(1)} s, commit and run record the rest)`,
    );
    log(`  stored: ${mediaImages} media_images rows, ${mediaFiles} media_files rows (${mediaListed} of them listed by an image), ${(mediaBytes / 1048576).toFixed(1)} MiB of image files (from ${imageCount} distinct JPEGs)`);
    // What one image costs to encode, alone.
    const jpeg = Buffer.from(await (await fetch(`${origin}/img/photo-0.jpg`)).arrayBuffer());
    const encodes: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      await processImage(jpeg, { stem: `bench-${k}`, label: 'photo-0.jpg' });
      encodes.push(performance.now() - t0);
    }
    const encodeMs = median(encodes);
    peaks.push(`5 encodes ${peakMiB().toFixed(0)}`);
    log(`  processImage of one ${(jpeg.length / 1024).toFixed(0)} KiB 400×300 JPEG (AVIF + WebP + JPEG): median ${encodeMs.toFixed(0)} ms of 5 (load ${load().toFixed(1)})`);
    const again = await timed(origin, scrape);
    const run2 = again.value[0]!;
    if (!run2.ok) throw new Error(`runScrapes (second) failed: ${run2.error}`);
    if (run2.report.notModified !== pages || run2.report.new.length || run2.report.gone.length) throw new Error(`second run: ${run2.report.notModified} unchanged, ${run2.report.new.length} new, ${run2.report.gone.length} gone`);
    log(`end to end again, conditional: ${run2.report.notModified} × 304, nothing changed, in ${again.seconds.toFixed(2)} s, ${(pages / again.seconds).toFixed(0)} pages/s (load ${again.load.toFixed(1)})`);
    peaks.push(`second run ${peakMiB().toFixed(0)}`);
    log(`  peak RSS so far (MiB), step by step: ${peaks.join(', ')}`);
    return {
      baseRssMiB: baseRss / 1048576,
      dbRssMiB: dbRss / 1048576,
      dbSettledPeakMiB: dbSettledPeak,
      crawlS,
      imagesS,
      txS,
      imageRequests: first.shop.images,
      encodeMs,
      products,
      variants,
      mediaImages,
      mediaFiles,
      mediaListed,
      mediaMiB: mediaBytes / 1048576,
      rows: [
        rowOf('end to end (runScrapes → PGlite)', pages, first, `${products} products, ${variants} variants; crawl ~${crawlS.toFixed(1)} s + images ~${imagesS.toFixed(1)} s + transaction ~${txS.toFixed(1)} s`),
        rowOf('end to end again, conditional (all 304)', pages, again, 'nothing changed'),
      ],
    };
  } finally {
    await t.drop();
  }
}

async function politePhase(origin: string) {
  const { scrapeSupplier } = await import('@rose/market');
  const { createTestDatabase } = await import('@rose/testing/test-database');
  const { createMarketManager } = await import('@rose/market');
  const { runScrapes } = await import('@rose/market');
  // No rateLimitMs, no concurrency: the engine's defaults (1000 ms, 2 per host).
  const supplier = benchSupplier(origin, { limit: politePages });
  const bound = (requests: number) => ((requests - 1) * intervalMs) / 1000;
  const describe = (label: string, t: { seconds: number; cpu: number; shop: ShopStats; load: number }, oneSequence = true) => {
    const requests = t.shop.starts.length;
    const gaps = gapsOf(t.shop.starts);
    const least = bound(requests);
    log(
      `${label}: ${t.seconds.toFixed(2)} s for ${requests} requests (robots.txt ${t.shop.robots}, sitemap ${t.shop.sitemaps}, pages ${t.shop.pages}, 304 ${t.shop.notModified}, images ${t.shop.images}); ` +
        `${oneSequence ? `least the limit allows ${least.toFixed(1)} s → measured/expected ${(t.seconds / least).toFixed(3)}; ` : ''}gaps between request starts at the shop: min ${Math.min(...gaps).toFixed(0)} ms, median ${median(gaps).toFixed(0)} ms; ` +
        `CPU ${(t.cpu * 1000).toFixed(0)} ms (${((100 * t.cpu) / t.seconds).toFixed(1)}% of the wall time) (load ${t.load.toFixed(1)})`,
    );
    return { requests, least, ratio: t.seconds / least, minGap: Math.min(...gaps), medianGap: median(gaps) };
  };
  const first = await timed(origin, () => scrapeSupplier(supplier, { allowPrivateAddresses: true }));
  if (first.value.products.length !== scrapedProductsOf(politePages) || first.value.errors.length) throw new Error(`polite crawl: ${first.value.products.length} products, ${first.value.errors.length} errors`);
  const a = describe(`polite crawl, ${politePages} pages`, first);
  const again = await timed(origin, () => scrapeSupplier(supplier, { allowPrivateAddresses: true, previous: first.value.validators }));
  if (again.value.notModified.length !== politePages) throw new Error(`polite conditional crawl: ${again.value.notModified.length} unchanged of ${politePages}`);
  const b = describe(`polite crawl again, conditional`, again);
  // End to end under the limit: the crawl, then each new product's image through a limiter of
  // its own (robots.txt read again), one after another.
  const t = await createTestDatabase('pglite');
  try {
    const added = await createMarketManager({ db: t.db }).addProducer('cli:bench', { slug: 'bench-shop', name: 'Meadow Market (bench)' });
    if (!added.ok) throw new Error(`addProducer: ${JSON.stringify(added.error)}`);
    const full = await timed(origin, () => runScrapes(t.db, [supplier], { allowPrivateAddresses: true }));
    const run = full.value[0]!;
    if (!run.ok) throw new Error(`polite runScrapes failed: ${run.error}`);
    const c = describe(`polite end to end (runScrapes), ${politePages} pages`, full, false);
    // Two limiters one after the other: the crawl's (robots, sitemap, pages) and the images' (robots, images).
    const crawlRequests = 2 + politePages;
    const least = bound(crawlRequests) + bound(full.shop.starts.length - crawlRequests);
    const boundary = gapsOf(full.shop.starts)[crawlRequests - 1];
    log(`  two sequences of request starts (crawl: ${crawlRequests}, images: ${full.shop.starts.length - crawlRequests}): least ${least.toFixed(1)} s → measured/expected ${(full.seconds / least).toFixed(3)}; the crawl alone would be ${bound(crawlRequests).toFixed(1)} s`);
    if (boundary !== undefined) log(`  between the crawl's last request and the images' first (robots.txt again, through a limiter of its own): ${boundary.toFixed(0)} ms${boundary < intervalMs ? ` — under the ${intervalMs} ms interval` : ''}`);
    const e2e = { ...c, least, ratio: full.seconds / least, crawlOnlyLeast: bound(crawlRequests), row: rowOf('polite end to end (runScrapes → PGlite)', politePages, full, `${full.shop.images} images fetched one by one, each 1 s after the last`) };
    return {
      crawl: a,
      conditional: b,
      e2e,
      rows: [rowOf('polite crawl (defaults: 1000 ms, 2 per host)', politePages, first), rowOf('polite crawl again, conditional (all 304)', politePages, again), e2e.row],
    };
  } finally {
    await t.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// The orchestration: the shop, then each phase in a process of its own.

if (values.phase === 'shop') {
  await runShop();
} else if (values.phase) {
  const origin = String(values.origin);
  const phases = { crawl: crawlPhase, e2e: e2ePhase, polite: politePhase } as Record<string, (origin: string) => Promise<unknown>>;
  const run = phases[String(values.phase)];
  if (!run) fail(`unknown --phase ${String(values.phase)}`);
  const result = await run(origin);
  log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} else {
  await orchestrate();
}

async function orchestrate(): Promise<void> {
  const scratch = path.join(root, '.rose', 'bench', `scrape-${process.pid}`);
  await fs.mkdir(scratch, { recursive: true });
  log(`Supplier scrape: ${pages} product pages from a loopback shop (its own process), ${politePages} under the default politeness limit (load average ${load().toFixed(1)} on ${os.availableParallelism()} cores)`);
  const shop = spawn(process.execPath, [thisFile, '--phase', 'shop', '--pages', String(pages), '--polite-pages', String(politePages)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const { origin, info } = await new Promise<{ origin: string; info: { kib: number; gzKib: number; min: number; median: number; max: number; imageBytes: number[] } }>((resolve, reject) => {
      let out = '';
      shop.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^SHOP (\S+) (.*)$/m.exec(out);
        if (m) resolve({ origin: m[1]!, info: JSON.parse(m[2]!) });
      });
      shop.once('close', (code) => reject(new Error(`the shop exited with ${code}:\n${out}`)));
    });
    log(`  shop at ${origin}: pages ${(info.min / 1024).toFixed(1)}–${(info.max / 1024).toFixed(1)} KiB (median ${(info.median / 1024).toFixed(1)}), ${(info.kib / 1024).toFixed(1)} MiB in all, ${(info.gzKib / 1024).toFixed(1)} MiB gzipped on the wire; ${imageCount} JPEGs of ${info.imageBytes.map((b) => (b / 1024).toFixed(0)).join('/')} KiB`);

    const phase = async <T>(name: string): Promise<T & { rssMiB: number; cpuS: number }> => {
      log('');
      log(`[${name}] (load ${load().toFixed(1)})`);
      const rusageFile = path.join(scratch, `${name}-rusage.json`);
      const child = spawn(process.execPath, ['--expose-gc', '--import', path.join(root, 'bench', 'report-rusage.mjs'), thisFile, '--phase', name, '--origin', origin, '--pages', String(pages), '--polite-pages', String(politePages)], {
        cwd: root,
        env: { ...process.env, ROSE_BENCH_RUSAGE_FILE: rusageFile, ROSE_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let result: T | undefined;
      let err = '';
      let buffered = '';
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as T;
          else log(`  ${line}`);
        }
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      if (code !== 0 || !result) throw new Error(`phase ${name} exited with ${code}:\n${err}`);
      const usage = JSON.parse(await fs.readFile(rusageFile, 'utf8')) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
      log(`  peak RSS of the phase: ${(usage.maxRSS / 1024).toFixed(0)} MiB (load ${load().toFixed(1)})`);
      return { ...result, rssMiB: usage.maxRSS / 1024, cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6 };
    };

    const crawl = await phase<Awaited<ReturnType<typeof crawlPhase>>>('crawl');
    const e2e = await phase<Awaited<ReturnType<typeof e2ePhase>>>('e2e');
    const polite = politePages > 0 ? await phase<Awaited<ReturnType<typeof politePhase>>>('polite') : undefined;

    log('');
    log('| step | pages | wall s | pages/s | scraper CPU ms/page | shop CPU ms/page | peak RSS of the phase (MiB) | load | note |');
    log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
    const print = (r: Row, rss: number | undefined) =>
      log(`| ${r.step} | ${r.pages} | ${r.seconds.toFixed(2)} | ${(r.pages / r.seconds).toFixed(r.pages / r.seconds < 10 ? 2 : 0)} | ${((r.cpu * 1000) / r.pages).toFixed(2)} | ${((r.shopCpu * 1000) / r.pages).toFixed(2)} | ${rss === undefined ? '〃' : rss.toFixed(0)} | ${r.load.toFixed(1)} | ${r.note ?? ''} |`);
    crawl.rows.forEach((r, k) => print(r, k === 0 ? crawl.rssMiB : undefined));
    e2e.rows.forEach((r, k) => print(r, k === 0 ? e2e.rssMiB : undefined));
    polite?.rows.forEach((r, k) => print(r, k === 0 ? polite.rssMiB : undefined));
    log(`(peak RSS covers every run of its phase; after the imports alone: crawl ${crawl.baseRssMiB.toFixed(0)} MiB (heap used after a full GC at the end: ${crawl.retainedHeapMiB.toFixed(0)} MiB), end to end ${e2e.baseRssMiB.toFixed(0)} MiB, a peak of ${e2e.dbRssMiB.toFixed(0)} MiB once the migrated PGlite was open and ${e2e.dbSettledPeakMiB.toFixed(0)} MiB after its start-up burst, before scraping)`);

    const [c1, c2, c3] = crawl.rows as [Row, Row, Row];
    const [e1, e2] = e2e.rows as [Row, Row];
    const rate = (r: Row) => r.pages / r.seconds;
    log('');
    log('Ratios:');
    log(`  end to end / crawl alone (pages/s): ${(rate(e1) / rate(c1)).toFixed(3)} — of the end-to-end ${e1.seconds.toFixed(1)} s, ~${e2e.crawlS.toFixed(1)} s crawl, ~${e2e.imagesS.toFixed(1)} s images (${e2e.imageRequests} fetched and encoded for ${imageCount} distinct URLs; one encode ${e2e.encodeMs.toFixed(0)} ms alone), ~${e2e.txS.toFixed(1)} s transaction (load ${e1.load.toFixed(1)})`);
    log(`  image files stored / distinct images: ${(e2e.mediaFiles / imageCount).toFixed(0)} files per distinct JPEG (${e2e.mediaFiles} rows, ${e2e.mediaListed} listed by an image, ${e2e.mediaMiB.toFixed(1)} MiB)`);
    log(`  conditional (304) / full crawl (pages/s): ${(rate(c2) / rate(c1)).toFixed(2)} crawl alone, ${(rate(e2) / rate(e1)).toFixed(2)} end to end (load ${c2.load.toFixed(1)} / ${e2.load.toFixed(1)})`);
    log(`  warm / new-process crawl (pages/s): ${(rate(c3) / rate(c1)).toFixed(2)} (load ${c3.load.toFixed(1)})`);
    if (polite) {
      const [p1, p2] = polite.rows as [Row, Row, Row];
      log(`  polite crawl, measured / least the limit allows ((requests − 1) × 1 s): ${polite.crawl.ratio.toFixed(3)} (${p1.seconds.toFixed(2)} s / ${polite.crawl.least.toFixed(1)} s; gaps min ${polite.crawl.minGap.toFixed(0)} ms, median ${polite.crawl.medianGap.toFixed(0)} ms; load ${p1.load.toFixed(1)}) — ${polite.crawl.ratio < 1.1 ? 'bounded by the limit' : 'NOT bounded by the limit alone'}`);
      log(`  polite conditional crawl, measured / least: ${polite.conditional.ratio.toFixed(3)} (${p2.seconds.toFixed(2)} s / ${polite.conditional.least.toFixed(1)} s; load ${p2.load.toFixed(1)})`);
      log(`  polite end to end, measured / least for its two sequences: ${polite.e2e.ratio.toFixed(3)} (${polite.e2e.row.seconds.toFixed(2)} s / ${polite.e2e.least.toFixed(1)} s); / the crawl's alone: ${(polite.e2e.row.seconds / polite.e2e.crawlOnlyLeast).toFixed(2)} (load ${polite.e2e.row.load.toFixed(1)})`);
      log(`  limit off / polite crawl (pages/s): ${(rate(c1) / rate(p1)).toFixed(0)}× — what the 1 s politeness costs at ${pages} pages: ~${((pages + 1) / 60).toFixed(0)} min instead of ${c1.seconds.toFixed(0)} s`);
    }
    log('');
    log(`Done (load average now ${load().toFixed(1)})`);
  } finally {
    if (shop.exitCode === null) {
      shop.kill('SIGTERM');
      await new Promise((r) => shop.once('close', r));
    }
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
