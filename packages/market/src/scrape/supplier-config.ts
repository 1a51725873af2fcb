import { readFile } from 'node:fs/promises';
import { load } from 'cheerio';
import { z } from 'zod';
import { ContentError, isCurrency, parseWithFriendlyErrors } from '@rose/core';
import { isHostAllowed } from '@rose/http';

const slug = z.string({ error: 'must be text' }).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be a slug: lower-case letters, digits and single dashes (veg-box-co)');

const webUrl = z.string({ error: 'must be a URL as text' }).refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be a full http(s) address, like https://shop.example/veg');

const pattern = z.string({ error: 'must be a regular expression as text' }).refine((source) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}, 'is not a valid regular expression');

const selector = z.string({ error: 'must be a CSS selector as text' }).refine((source) => {
  try {
    load('<p></p>')(source);
    return true;
  } catch {
    return false;
  }
}, 'is not a valid CSS selector');

const selectorsSchema = z
  .object({
    name: selector,
    price: selector,
    sku: selector.optional(),
    description: selector.optional(),
    image: selector.optional(),
    availability: selector.optional(),
    unit: selector.optional(),
  })
  .strict();

const supplierSchema = z
  .object({
    slug,
    name: z.string({ error: 'must be the supplier name as text' }).trim().min(1, 'must not be empty'),
    producer: slug,
    startUrls: z.array(webUrl, { error: 'must be a list of addresses' }).min(1, 'must list at least one address').optional(),
    sitemap: webUrl.optional(),
    allowedHosts: z
      .array(z.string().trim().min(1).regex(/^[^/\s]+$/, 'must be a host name like shop.example (no https://, no path)'), { error: 'must be a list of host names' })
      .min(1, 'must list at least one host'),
    productUrlPattern: pattern.optional(),
    listingUrlPattern: pattern.optional(),
    maxPages: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').default(500),
    currency: z.string({ error: 'must be an ISO 4217 code like GBP' }).refine(isCurrency, 'must be an ISO 4217 code in capitals, like GBP or EUR'),
    selectors: selectorsSchema.optional(),
    rateLimitMs: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more').optional(),
    concurrency: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(8, 'must be at most 8').optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.startUrls && !s.sitemap) ctx.addIssue({ code: 'custom', path: ['startUrls'], message: 'give startUrls or sitemap (or both): where the crawl begins' });
    const outside = (url: string) => {
      try {
        return !isHostAllowed(new URL(url), s.allowedHosts);
      } catch {
        return false;
      }
    };
    s.startUrls?.forEach((url, i) => {
      if (outside(url)) ctx.addIssue({ code: 'custom', path: ['startUrls', i], message: `is on ${new URL(url).host}, which allowedHosts does not list` });
    });
    if (s.sitemap && outside(s.sitemap)) ctx.addIssue({ code: 'custom', path: ['sitemap'], message: `is on ${new URL(s.sitemap).host}, which allowedHosts does not list` });
  });

/** One supplier of `content/market/suppliers.json`, defaults applied. */
export type SupplierConfig = z.output<typeof supplierSchema>;
/** What a supplier's entry may say before defaults (`maxPages` optional). */
export type SupplierConfigInput = z.input<typeof supplierSchema>;
export type SupplierSelectors = NonNullable<SupplierConfig['selectors']>;

/**
 * Checks suppliers data (already parsed JSON) and returns the suppliers with defaults applied,
 * or the problems, each naming the supplier and the field:
 * `supplier "veg-box" (#2) currency: must be an ISO 4217 code in capitals, like GBP or EUR`.
 */
export function parseSuppliers(input: unknown): { ok: true; value: SupplierConfig[] } | { ok: false; problems: string[] } {
  if (!Array.isArray(input)) return { ok: false, problems: ['must be a list ([ … ]) of suppliers'] };
  const problems: string[] = [];
  const suppliers: SupplierConfig[] = [];
  const seen = new Map<string, number>();
  input.forEach((entry: unknown, i) => {
    const slugText = typeof entry === 'object' && entry !== null && typeof (entry as { slug?: unknown }).slug === 'string' ? (entry as { slug: string }).slug : undefined;
    const label = slugText ? `supplier "${slugText}" (#${i + 1})` : `supplier #${i + 1}`;
    const parsed = parseWithFriendlyErrors(supplierSchema, entry);
    if (!parsed.ok) {
      problems.push(...parsed.problems.map((p) => `${label} ${p}`));
      return;
    }
    const earlier = seen.get(parsed.value.slug);
    if (earlier !== undefined) problems.push(`${label} slug: "${parsed.value.slug}" is already used by supplier #${earlier + 1}`);
    seen.set(parsed.value.slug, i);
    suppliers.push(parsed.value);
  });
  return problems.length ? { ok: false, problems } : { ok: true, value: suppliers };
}

/**
 * Reads and checks `content/market/suppliers.json`. Throws a ContentError naming the file, the
 * supplier and the field when it is not right.
 *
 * @example
 * const suppliers = await loadSuppliers(path.join(contentDir, 'market', 'suppliers.json'));
 */
export async function loadSuppliers(filePath: string, deps: { readFile?: (path: string) => Promise<string> } = {}): Promise<SupplierConfig[]> {
  const read = deps.readFile ?? ((p: string) => readFile(p, 'utf8'));
  let text: string;
  try {
    text = await read(filePath);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new ContentError(filePath, code === 'ENOENT' ? 'the suppliers file does not exist' : `could not be read (${String(code ?? cause)})`, 'Create it with a list of suppliers to scrape, or check the content folder (ROSE_CONTENT_DIR).');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ContentError(filePath, `is not valid JSON: ${(cause as Error).message}`, 'Fix the JSON syntax (a missing comma or quote, a trailing comma).');
  }
  const parsed = parseSuppliers(data);
  if (!parsed.ok) {
    throw new ContentError(filePath, `has ${parsed.problems.length === 1 ? 'a problem' : `${parsed.problems.length} problems`}:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}`, 'Fix these entries; the other suppliers are not scraped until the file is valid.');
  }
  return parsed.value;
}
