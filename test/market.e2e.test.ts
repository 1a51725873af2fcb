import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPaths, marketLinks, siteLinks } from '@rose/core';
import { openPglite } from '@rose/db';
import { copyBuiltSite, freePort, launchBrowser, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';
import { internalLinks, isOnDemandLink, resolvesInBuild } from './site-checks.ts';

/** A product as `rose market products list --json` prints it. */
interface ListedProduct {
  slug: string;
  name: string;
  producer: string;
  category: string | null;
  available: boolean;
  archived: boolean;
  variants: { sku: string; unit: string; size: string | null; priceMinor: number; currency: string; stockMode: 'tracked' | 'on-demand'; stockCount: number | null }[];
}
type ListedVariant = ListedProduct['variants'][number];
interface ListedProducer {
  slug: string;
  archived: boolean;
}
interface ListedCycle {
  slug: string;
  opensAt: string;
  closesAt: string;
  archived: boolean;
}
interface AuditEntry {
  actor: string;
  action: string;
  entity: string;
  slug: string;
  details: unknown;
}
interface Offer {
  sku: string;
  price: string;
  priceCurrency: string;
  availability: string;
}

const perPage = 24;
const password = 'Crab-Apple-Jelly-Season-31';
const member = { email: 'mina@example.org', name: 'Mina Member' };
const staff = { email: 'stan@example.org', name: 'Stan Staff' };
// Pages rendered on request, never built: a static page may link them.
const onDemand = (link: string) => isOnDemandLink(link) || link.startsWith(marketLinks.manage());

/** The file a page path is served from (`/market/` → `market/index.html`). */
const pageFile = (link: string) => (link.endsWith('/') ? path.join(link, 'index.html') : link).replace(/^\/+/, '');
/** A page file with the brotli and gzip variants the build writes beside it. */
const withVariants = (file: string) => [file, `${file}.br`, `${file}.gz`];

function schemaAvailability(product: ListedProduct, v: ListedVariant): string {
  if (!product.available) return 'https://schema.org/Discontinued';
  if (v.stockMode === 'on-demand') return 'https://schema.org/MadeToOrder';
  return (v.stockCount ?? 0) > 0 ? 'https://schema.org/InStock' : 'https://schema.org/OutOfStock';
}
/** What a listing says of a product: any tracked variant left wins, then made to order. */
function cardAvailability(product: ListedProduct): string {
  if (!product.available) return 'unavailable';
  if (product.variants.some((v) => v.stockMode === 'tracked' && (v.stockCount ?? 0) > 0)) return 'in-stock';
  return product.variants.some((v) => v.stockMode === 'on-demand') ? 'on-demand' : 'out-of-stock';
}
/** A price as a decimal string, computed independently of the product's code. */
function decimal(minor: number, currency: string): string {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return (minor / 10 ** digits).toFixed(digits);
}
function jsonLd(html: string): { '@type': string; name: string; url: string; offers: Offer[] } {
  const scripts = [...html.matchAll(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/g)];
  expect(scripts).toHaveLength(1);
  return JSON.parse(scripts[0]![1]!);
}
const availabilities = (html: string) => jsonLd(html).offers.map((o) => o.availability);

// The market part on the real demo site: the built release (pages, JSON-LD, links, sitemap,
// search), `rose serve` with its stock server island and targeted rebuilds after staff
// changes, and the staff pages in Chromium. One served copy of the shared built site.
describe('market on the built demo site', { timeout: 120_000 }, () => {
  let tmp: string;
  let env: Record<string, string>;
  let base: string;
  let server: RunningRose;
  let browser: Browser;
  // What the market holds: read once with the CLI, then kept up to date by the tests' own
  // changes, so each test can check the site against it in any order.
  let products: ListedProduct[];
  let producers: ListedProducer[];
  let cycles: ListedCycle[];

  const url = (p: string) => new URL(p, base).toString();
  const rose = async (...args: string[]) => {
    const r = await runRose(args, env, { timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const roseJson = async <T>(...args: string[]): Promise<T> => JSON.parse((await rose(...args)).stdout) as T;
  const variantOf = (sku: string) => products.flatMap((p) => p.variants).find((v) => v.sku === sku)!;
  const setStock = async (sku: string, count: number) => {
    await rose('market', 'products', 'stock', sku, String(count));
    variantOf(sku).stockCount = count;
  };
  const liveRelease = async () => fs.realpath(path.join(env.ROSE_DIST_DIR!, 'current'));
  const serve = async (p: string) => {
    const res = await fetch(url(p));
    expect(res.status, p).toBe(200);
    return { release: res.headers.get('x-rose-release'), html: await res.text() };
  };
  /** The server's "rebuild live" log lines (JSON) written after `offset` of its output. */
  const rebuildsSince = (offset: number) =>
    server
      .output()
      .slice(offset)
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"rebuild live"'))
      .map((line) => JSON.parse(line) as { release: string; kind: string; changed: number });
  /** Every file of the live release's client folder: its inode and a hash of its bytes. */
  const clientFiles = async () => {
    const client = path.join(await liveRelease(), 'client');
    const files = new Map<string, { ino: number; hash: string }>();
    for (const e of await fs.readdir(client, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const full = path.join(e.parentPath, e.name);
      const [stat, bytes] = await Promise.all([fs.stat(full), fs.readFile(full)]);
      files.set(path.relative(client, full), { ino: stat.ino, hash: createHash('sha1').update(bytes).digest('hex') });
    }
    return files;
  };
  /** Console errors, failed islands and CSP violations of a page, as they happen. */
  const watch = async (page: Page) => {
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`));
    });
    return problems;
  };
  const signIn = async (page: Page, email: string) => {
    await page.fill('input[name=email]', email);
    await page.fill('input[name=password]', password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  // Each test changes its own product, so they do not depend on each other's order.
  const pick = (name: string, ok: (p: ListedProduct) => boolean) => {
    const found = [...products].sort((a, b) => (a.slug < b.slug ? -1 : 1)).find(ok);
    if (!found) throw new Error(`The demo market has no product for the ${name} test`);
    return found;
  };
  let countProduct: ListedProduct;
  let soldOutProduct: ListedProduct;
  let liveProduct: ListedProduct;
  let staffProduct: ListedProduct;

  beforeAll(async () => {
    tmp = await makeProjectTempDir('market');
    const port = await freePort();
    base = `http://127.0.0.1:${port}/`;
    // The demo site, migrated, seeded and built once per checkout state (shared by e2e files).
    env = { ...(await copyBuiltSite(tmp)), ROSE_SITE_URL: `http://127.0.0.1:${port}` };
    // The shared site was built for another origin; pages name their origin (canonical links,
    // JSON-LD), so the release is built again for this one before rebuilds re-render through it.
    const rebuilt = await runRose(['build'], env, { timeoutMs: 300_000 });
    if (rebuilt.code !== 0) throw new Error(rebuilt.stderr);
    // Info level: the server logs "rebuild live" when a rebuild's release is published. Islands
    // cached for an hour: only a purge, never expiry, can make one show a change here.
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], { ...env, ROSE_LOG_LEVEL: 'info', ROSE_FRAGMENT_TTL: '3600' });
    // The commands reach the server's embedded database through its socket, side by side.
    const account = (who: typeof member, role: string) => runRose(['users', 'create', '--email', who.email, '--name', who.name, '--role', role, '--password-stdin'], env, { stdin: password });
    let accounts: Awaited<ReturnType<typeof account>>[];
    [products, producers, cycles, browser, ...accounts] = await Promise.all([
      roseJson<ListedProduct[]>('market', 'products', 'list', '--json'),
      roseJson<ListedProducer[]>('market', 'producers', 'list', '--json'),
      roseJson<ListedCycle[]>('market', 'cycles', 'list', '--json'),
      launchBrowser(),
      account(member, 'member'),
      account(staff, 'staff'),
    ]);
    for (const r of accounts) if (r.code !== 0) throw new Error(r.stderr);
    const inStock = (p: ListedProduct) => p.available && p.variants.every((v) => v.stockMode === 'tracked' && (v.stockCount ?? 0) > 1);
    soldOutProduct = pick('sold-out', (p) => inStock(p) && p.variants.length > 1 && p.category !== null);
    countProduct = pick('stock count', (p) => inStock(p) && p.producer !== soldOutProduct.producer && p.category !== soldOutProduct.category);
    liveProduct = pick('live stock', (p) => p.available && new Set(p.variants.map((v) => v.stockMode)).size > 1);
    staffProduct = pick('staff', (p) => inStock(p) && ![soldOutProduct, countProduct, liveProduct].includes(p));
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('builds a page for every product, producer and category page, with JSON-LD offers that match the variants', async () => {
    const client = path.join(await liveRelease(), 'client');
    const dirs = async (link: string) => (await fs.readdir(path.join(client, link), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const producerSlugs = producers.filter((p) => !p.archived).map((p) => p.slug);
    const listed = products.filter((p) => !p.archived && producerSlugs.includes(p.producer));
    expect(listed.length).toBeGreaterThan(50);
    expect(await dirs(path.dirname(marketLinks.product('x')))).toEqual(listed.map((p) => p.slug).sort());
    expect(await dirs(marketLinks.producers())).toEqual([...producerSlugs].sort());

    // Category listings: 24 products a page, page 1 at the category's address.
    const perCategory = new Map<string, number>();
    for (const p of listed) if (p.category) perCategory.set(p.category, (perCategory.get(p.category) ?? 0) + 1);
    const expectedCategoryPages = [...perCategory].flatMap(([slug, n]) => Array.from({ length: Math.ceil(n / perPage) }, (_, i) => marketLinks.category(slug, i + 1)));
    const categoryRoot = pageFile(marketLinks.category('x')).replace(/x\/index\.html$/, '');
    const builtCategoryPages = (await fs.readdir(path.join(client, categoryRoot), { recursive: true }))
      .map(String)
      .filter((f) => f.endsWith('index.html'))
      .map((f) => `/${categoryRoot}${f.replace(/index\.html$/, '')}`);
    expect(builtCategoryPages.sort()).toEqual(expectedCategoryPages.sort());

    for (const product of listed) {
      const html = await fs.readFile(path.join(client, pageFile(marketLinks.product(product.slug))), 'utf8');
      const ld = jsonLd(html);
      expect(ld['@type']).toBe('Product');
      expect(ld.name).toBe(product.name);
      expect(new URL(ld.url).pathname).toBe(marketLinks.product(product.slug));
      expect(
        ld.offers.map((o) => ({ sku: o.sku, price: o.price, priceCurrency: o.priceCurrency, availability: o.availability })),
        product.slug,
      ).toEqual(product.variants.map((v) => ({ sku: v.sku, price: decimal(v.priceMinor, v.currency), priceCurrency: v.currency, availability: schemaAvailability(product, v) })));
    }
    // The demo data covers every availability.
    const all = new Set(listed.flatMap((p) => p.variants.map((v) => schemaAvailability(p, v))));
    expect([...all].sort()).toEqual(['https://schema.org/Discontinued', 'https://schema.org/InStock', 'https://schema.org/MadeToOrder', 'https://schema.org/OutOfStock']);

    // The home page shows each cycle that had not closed as open or upcoming, as of its render.
    const home = path.join(client, pageFile(marketLinks.home()));
    const renderedAt = (await fs.stat(home)).mtime;
    const homeHtml = await fs.readFile(home, 'utf8');
    const shown = [...homeHtml.matchAll(/data-cycle="([^"]+)" data-state="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    const expectedCycles = cycles
      .filter((c) => !c.archived && new Date(c.closesAt) > renderedAt)
      .sort((a, b) => (a.opensAt < b.opensAt ? -1 : 1))
      .map((c) => [c.slug, new Date(c.opensAt) <= renderedAt ? 'open' : 'upcoming']);
    expect(shown).toEqual(expectedCycles);
    expect(shown.length).toBeGreaterThan(0);

    // Every site path a market page links (pages, images in src and srcset) is in the release,
    // or is a page rendered on request.
    const links = (await internalLinks(client)).filter((l) => l.file.startsWith(pageFile(marketLinks.home()).replace(/index\.html$/, '')));
    expect(links.length).toBeGreaterThan(1000);
    expect(links.filter((l) => !resolvesInBuild(client, l.link) && !onDemand(l.link)).map((l) => `${l.file}: ${l.link}`)).toEqual([]);

    // The sitemap lists exactly the market's pages; the search index has each product once.
    const sitemap = await fs.readFile(path.join(client, pageFile(siteLinks.sitemap())), 'utf8');
    const inSitemap = [...sitemap.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => new URL(m[1]!).pathname).filter((p) => p.startsWith(marketLinks.home()));
    expect(inSitemap.sort()).toEqual(
      [marketLinks.home(), marketLinks.producers(), ...expectedCategoryPages, ...producerSlugs.map((s) => marketLinks.producer(s)), ...listed.map((p) => marketLinks.product(p.slug))].sort(),
    );
    const index = JSON.parse(await fs.readFile(path.join(client, pageFile(marketLinks.searchIndex())), 'utf8')) as { n: string; u: string }[];
    expect(index.map((e) => e.u).sort()).toEqual(listed.map((p) => marketLinks.product(p.slug)).sort());
    expect(index.map((e) => e.n).sort()).toEqual(listed.map((p) => p.name).sort());
    await fs.access(path.join(client, pageFile(marketLinks.search())));
    const rss = await fs.readFile(path.join(client, pageFile(marketLinks.rss())), 'utf8');
    const items = [...rss.matchAll(/<item>[\s\S]*?<link>([^<]+)<\/link>/g)].map((m) => new URL(m[1]!).pathname);
    expect(items).toHaveLength(Math.min(30, listed.length));
    expect(items.filter((p) => !resolvesInBuild(client, p))).toEqual([]);
  });

  it('a stock count change shows in the island and re-renders no page', async () => {
    const variant = countProduct.variants[0]!;
    const count = variant.stockCount! - 1;
    const productUrl = marketLinks.product(countProduct.slug);
    const release = await liveRelease();
    const file = path.join(release, 'client', pageFile(productUrl));
    const [stat, bytes, keys] = await Promise.all([fs.stat(file), fs.readFile(file), fs.readFile(path.join(release, 'pages.json'), 'utf8')]);
    const page = await browser.newPage();
    const cell = page.locator(`[data-testid="stock-product"] tr[data-sku="${variant.sku}"] td.stock`);
    const shown = async () => {
      await page.goto(url(productUrl));
      await cell.waitFor({ timeout: 15_000 });
      return cell.textContent();
    };
    // The island is cached with the old count first: the command, another process, cannot
    // purge the server's cache; the rebuild job it queues does.
    expect(await shown()).toBe(`${variant.stockCount} left`);
    const offset = server.output().length;

    await setStock(variant.sku, count);
    await expect.poll(shown, { timeout: 60_000, interval: 500 }).toBe(`${count} left`);
    await page.close();

    // That rebuild found no page key changed and published nothing.
    await expect.poll(() => rebuildsSince(offset).length, { timeout: 60_000, interval: 250 }).toBeGreaterThan(0);
    for (const r of rebuildsSince(offset)) expect(r).toMatchObject({ kind: 'unchanged', changed: 0, release: path.basename(release) });
    expect(await liveRelease()).toBe(release);
    const after = await fs.stat(path.join(await liveRelease(), 'client', pageFile(productUrl)));
    expect(after.ino).toBe(stat.ino);
    expect((await fs.readFile(file)).equals(bytes)).toBe(true);
    expect(await fs.readFile(path.join(release, 'pages.json'), 'utf8')).toBe(keys);
    const served = await serve(productUrl);
    expect(served.release).toBe(path.basename(release));
    expect(availabilities(served.html)).toEqual(countProduct.variants.map(() => 'https://schema.org/InStock'));
  });

  it('a product selling out re-renders its page, its category and producer pages and the market lists, nothing else', async () => {
    const product = soldOutProduct;
    const productUrl = marketLinks.product(product.slug);
    const before = await clientFiles();
    const beforeDir = path.join(await liveRelease(), 'client');
    // The listing pages that show the product's card.
    const categoryDir = pageFile(marketLinks.category('x')).replace(/x\/index\.html$/, '');
    const categoryPages: string[] = [];
    for (const f of before.keys()) {
      if (f.startsWith(categoryDir) && f.endsWith('.html') && (await fs.readFile(path.join(beforeDir, f), 'utf8')).includes(`href="${productUrl}"`)) categoryPages.push(f);
    }
    expect(categoryPages).toContain(pageFile(marketLinks.category(product.category!)));
    const mustChange = [pageFile(productUrl), pageFile(marketLinks.producer(product.producer)), ...categoryPages].flatMap(withVariants).sort();
    // Pages without a key of their own re-render on every market rebuild; they keep their
    // file when their bytes come out the same.
    const mayChange = [marketLinks.home(), marketLinks.producers(), marketLinks.searchIndex(), marketLinks.rss()].map(pageFile).flatMap(withVariants);
    // Shared pages outside the parts: the sitemap gives the product's new date, robots.txt names
    // the site's URL (this server's, not the shared build's).
    const sharedMayChange = [siteLinks.sitemap(), '/robots.txt'].map(pageFile).flatMap(withVariants);
    const offset = server.output().length;

    await Promise.all(product.variants.map((v) => setStock(v.sku, 0)));
    const soldOut = product.variants.map(() => 'https://schema.org/OutOfStock');
    await expect
      .poll(
        async () => {
          const served = await serve(productUrl);
          const live = await liveRelease();
          const file = await fs.readFile(path.join(live, 'client', pageFile(productUrl)), 'utf8');
          return { served: availabilities(served.html), file: availabilities(file), release: served.release === path.basename(live) };
        },
        { timeout: 90_000, interval: 500 },
      )
      .toEqual({ served: soldOut, file: soldOut, release: true });
    expect(rebuildsSince(offset).some((r) => r.kind === 'warm' && r.changed > 0)).toBe(true);

    const after = await clientFiles();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = [...after].filter(([f, a]) => before.get(f)!.hash !== a.hash).map(([f]) => f);
    const market = pageFile(marketLinks.home()).replace(/index\.html$/, '');
    expect(changed.filter((f) => f.startsWith(market) && !mayChange.includes(f)).sort()).toEqual(mustChange);
    expect(changed.filter((f) => !f.startsWith(market) && !sharedMayChange.includes(f))).toEqual([]);
    // What did not change is the same file, linked into the new release, not a copy.
    expect([...after].filter(([f, a]) => before.get(f)!.hash === a.hash && before.get(f)!.ino !== a.ino).map(([f]) => f)).toEqual([]);
    // The listing's static card now says so too.
    const listing = await fs.readFile(path.join(await liveRelease(), 'client', pageFile(marketLinks.category(product.category!))), 'utf8');
    expect(listing).toMatch(new RegExp(`data-product="${product.slug}"[\\s\\S]*?class="stock-live" data-availability="out-of-stock"`));
  });

  it('shows live stock from the island on the market home and a product page, with no console error or CSP violation', async () => {
    const bySlug = new Map(products.map((p) => [p.slug, p]));
    const page = await browser.newPage();
    const problems = await watch(page);

    await page.goto(url(marketLinks.home()));
    const cards = page.locator('article.product-card');
    const n = await cards.count();
    expect(n).toBeGreaterThan(0);
    await expect.poll(() => page.locator('article.product-card [data-testid="stock-card"]').count(), { timeout: 30_000 }).toBe(n);
    for (let i = 0; i < n; i++) {
      const card = cards.nth(i);
      const product = bySlug.get((await card.getAttribute('data-product'))!)!;
      const island = card.locator('[data-testid="stock-card"]');
      const availability = cardAvailability(product);
      expect(await island.getAttribute('data-availability'), product.slug).toBe(availability);
      const left = product.variants.reduce((sum, v) => sum + (v.stockMode === 'tracked' ? (v.stockCount ?? 0) : 0), 0);
      const text = { 'in-stock': `${left} in stock`, 'on-demand': 'Available to order', 'out-of-stock': 'Sold out', unavailable: 'Not available' }[availability]!;
      expect(await island.textContent(), product.slug).toMatch(new RegExp(`^${text} · `));
    }

    const product = bySlug.get(liveProduct.slug)!;
    await page.goto(url(marketLinks.product(product.slug)));
    const island = page.locator('[data-testid="stock-product"]');
    await island.waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="stock-static"]').count()).toBe(0);
    const rows = island.locator('tr[data-sku]');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-sku'), tr.querySelector('td.stock')!.textContent]))).toEqual(
      product.variants.map((v) => [v.sku, v.stockMode === 'on-demand' ? 'available to order' : v.stockCount === 0 ? 'sold out' : `${v.stockCount} left`]),
    );
    // Orderable until the open cycle the product is offered in closes.
    const offeredIn = await page.locator('ul.cycles li[data-cycle]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-cycle')));
    const now = new Date();
    const open = cycles.find((c) => offeredIn.includes(c.slug) && new Date(c.opensAt) <= now && now < new Date(c.closesAt));
    expect(open, 'the demo product is in an open cycle').toBeDefined();
    expect(await island.locator('.ordering').textContent()).toMatch(/^Orderable until /);
    expect(await island.locator('.ordering time').getAttribute('datetime')).toBe(new Date(open!.closesAt).toISOString());

    expect(problems).toEqual([]);
    await page.close();
  });

  it('staff pages: a member is refused; staff set stock (audited as the user) and a bad price changes nothing', async () => {
    const memberContext = await browser.newContext();
    const refused = await memberContext.newPage();
    await refused.goto(url(linkPaths.auth.login(marketLinks.manage())));
    const answer = refused.waitForResponse((r) => new URL(r.url()).pathname === marketLinks.manage() && r.request().method() === 'GET');
    await signIn(refused, member.email);
    expect((await answer).status()).toBe(403);
    expect(await refused.locator('[role=alert]').textContent()).toBe("The market's staff pages are for staff. Ask an admin to give your account the staff role.");
    expect(await refused.locator('[data-testid="manage-products"]').count()).toBe(0);
    await memberContext.close();

    const staffContext = await browser.newContext();
    const page = await staffContext.newPage();
    const problems = await watch(page);
    // Not signed in: sent to sign in, and back to the staff page after.
    await page.goto(url(marketLinks.manage()));
    await page.waitForURL((u) => u.pathname === linkPaths.auth.login());
    await signIn(page, staff.email);
    await page.waitForURL((u) => u.pathname === marketLinks.manage());

    const variant = staffProduct.variants[0]!;
    const count = variant.stockCount! + 5;
    const row = page.locator(`[data-testid="manage-products"] tr[data-sku="${variant.sku}"]`);
    await row.locator('input[name=stock]').fill(String(count));
    await row.locator('form:has(input[name=stock]) button').click();
    await expect.poll(() => page.locator('p.notice[role=status]').textContent(), { timeout: 30_000 }).toBe(`Stock of ${variant.sku} is now ${count}.`);
    expect(await row.locator('input[name=stock]').inputValue()).toBe(String(count));
    const stockBefore = variant.stockCount;
    variant.stockCount = count;

    const price = row.locator('input[name=price]');
    const priceBefore = await price.inputValue();
    expect(priceBefore).toBe(decimal(variant.priceMinor, variant.currency));
    await price.fill('3.999');
    const refusal = page.waitForResponse((r) => new URL(r.url()).pathname === marketLinks.manage() && r.request().method() === 'POST');
    await row.locator('form:has(input[name=price]) button').click();
    expect((await refusal).status()).toBe(400);
    await expect.poll(() => page.locator('p.error[role=alert]').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('p.error[role=alert]').textContent()).toMatchInlineSnapshot(`"price: GBP has 2 decimal places: "3.999" has 3"`);
    // The list below is read again after the refused change: the price is what it was.
    expect(await row.locator('input[name=price]').inputValue()).toBe(priceBefore);
    await staffContext.close();
    // The refused change's 400 (and Chromium's note of it) is the answer under test.
    const refusedChange = (p: string) => p === `400 ${url(marketLinks.manage())}` || /status of 400\b/.test(p);
    expect(problems.filter((p) => !refusedChange(p))).toEqual([]);

    const handle = await openPglite({ dir: path.join(env.ROSE_DATA_DIR!, 'pglite') });
    let userId: string;
    try {
      userId = (await handle.db.selectFrom('users').select('id').where('email', '=', staff.email).executeTakeFirstOrThrow()).id;
    } finally {
      await handle.close();
    }
    const audit = await roseJson<AuditEntry[]>('market', 'audit', '--json', '--slug', variant.sku);
    expect(audit).toEqual([{ at: expect.any(String), actor: `user:${userId}`, action: 'stock', entity: 'variant', slug: variant.sku, details: { before: stockBefore, after: count } }]);
  });
});
