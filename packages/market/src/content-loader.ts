import { promises as fs } from 'node:fs';
import path from 'node:path';
import matter from 'gray-matter';
import { z } from 'zod';
import { ContentError, isCurrency, localTimeToInstant, parseAmount, parseWithFriendlyErrors } from '@rose/core';
import { renderMarkdown } from '@rose/rich-text';

/** The market's part of a content folder (`content/market/`), validated and ready to seed. */
export interface MarketBundle {
  /** The folder it was read from (`content/market`), for images and messages. */
  dir: string;
  currency: string;
  categories: ContentCategory[];
  producers: ContentProducer[];
  products: ContentProduct[];
  cycles: ContentCycle[];
}

export interface ContentCategory {
  slug: string;
  name: string;
  description: string | null;
  position: number;
}

export interface ContentProducer {
  slug: string;
  name: string;
  storyHtml: string;
  location: string | null;
  website: string | null;
  /** Path relative to the market folder (`images/higher-farm.jpg`). */
  image: string | null;
  contactEmail: string | null;
  contactPhone: string | null;
  featured: boolean;
  file: string;
}

export interface ContentVariant {
  sku: string;
  unit: string;
  size: string | null;
  priceMinor: number;
  currency: string;
  stock: number | 'on-demand';
}

export interface ContentProduct {
  slug: string;
  producer: string;
  name: string;
  category: string | null;
  description: string;
  image: string | null;
  available: boolean;
  variants: ContentVariant[];
  file: string;
}

export interface ContentCycle {
  slug: string;
  name: string;
  opensAt: Date;
  closesAt: Date;
  timeZone: string;
  note: string;
  producers: string[];
  /** Product slugs offered (expanded from `producers` when the file lists none). */
  products: string[];
}

/** The slug rule of every market row (same as the database check). */
export const marketSlugPattern = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const skuPattern = /^[A-Z0-9]+(-[A-Z0-9]+)*$/;

const slug = z.string().regex(marketSlugPattern, 'expected a slug: lowercase letters, digits and single hyphens (e.g. "higher-farm")').max(120, 'expected at most 120 characters');
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `expected at most ${max} characters`);
const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an http(s) URL');
const imagePath = z.string().regex(/^images\/[A-Za-z0-9][A-Za-z0-9._-]*\.(jpe?g|png|webp|avif|gif)$/i, 'expected a file of the market\'s images/ folder, like "images/higher-farm.jpg"');
const currency = z.string().refine(isCurrency, 'expected an ISO 4217 currency code like "GBP"');

const marketSchema = z.strictObject({ currency: currency.default('GBP') });
const categoriesSchema = z.array(z.strictObject({ slug, name: text(120), description: text(1000).optional() }));
const producerSchema = z.strictObject({
  name: text(200),
  location: text(200).optional(),
  website: httpUrl.optional(),
  image: imagePath.optional(),
  contact: z.strictObject({ email: z.email('expected an email address').optional(), phone: text(40).optional() }).optional(),
  featured: z.boolean().default(false),
});
const variantSchema = z.strictObject({
  sku: z.string().regex(skuPattern, 'expected a SKU: uppercase letters, digits and single hyphens (e.g. "HF-POT-2K")').max(64),
  unit: text(40),
  size: text(60).optional(),
  price: z.string({ error: 'expected the price as a string like "3.50" (numbers lose pennies)' }),
  currency: currency.optional(),
  stock: z.union([z.number().int('expected a whole number').min(0, 'must not be negative'), z.literal('on-demand')], { error: 'expected a count (0 or more) or "on-demand"' }),
});
const productsSchema = z.array(
  z.strictObject({
    slug,
    name: text(200),
    category: slug.optional(),
    description: z.string().max(5000, 'expected at most 5000 characters').default(''),
    image: imagePath.optional(),
    variants: z.array(variantSchema).min(1, 'a product needs at least one variant'),
    available: z.boolean().default(true),
  }),
);
const cyclesSchema = z.array(
  z.strictObject({
    slug,
    name: text(200),
    opensAt: z.string(),
    closesAt: z.string(),
    timeZone: z.string(),
    note: z.string().max(2000).default(''),
    producers: z.array(slug).min(1, 'a cycle needs at least one producer'),
    products: z.array(slug).optional(),
  }),
);

const problemsHint = 'Fix the files above and run `rose db seed` again; nothing was changed.';

/**
 * Reads and validates the market folder of a content folder (`<contentDir>/market/`).
 * Returns null when there is none (a blog-only site); every problem in every file is
 * collected and thrown as one ContentError naming each file and field.
 *
 * @example
 * const market = await loadMarketContent('content'); // { producers: [...], products: [...], ... } | null
 */
export async function loadMarketContent(contentDir: string): Promise<MarketBundle | null> {
  const dir = path.join(contentDir, 'market');
  try {
    if (!(await fs.stat(dir)).isDirectory()) return null;
  } catch {
    return null;
  }
  const problems: { file: string; message: string }[] = [];
  const add = (file: string, message: string) => problems.push({ file, message });
  const rel = (name: string) => `market/${name}`;

  const readJson = async <S extends z.ZodType>(name: string, schema: S, fallback?: z.output<S>): Promise<z.output<S> | undefined> => {
    let raw: string;
    try {
      raw = await fs.readFile(path.join(dir, name), 'utf8');
    } catch {
      if (fallback !== undefined) return fallback;
      add(rel(name), 'file is missing');
      return undefined;
    }
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      add(rel(name), `is not valid JSON (${(error as Error).message})`);
      return undefined;
    }
    const parsed = parseWithFriendlyErrors(schema, data);
    if (!parsed.ok) {
      for (const p of parsed.problems) add(rel(name), p);
      return undefined;
    }
    return parsed.value;
  };
  const listFiles = async (folder: string, ext: string) => {
    try {
      return (await fs.readdir(path.join(dir, folder))).filter((f) => f.endsWith(ext)).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      add(rel(`${folder}/`), code === 'ENOENT' ? 'folder is missing' : `cannot be read (${code ?? String(error)})`);
      return [];
    }
  };

  const settings = await readJson('market.json', marketSchema, { currency: 'GBP' });
  const defaultCurrency = settings?.currency ?? 'GBP';
  const categoriesRead = await readJson('categories.json', categoriesSchema, []);
  const categories: ContentCategory[] = (categoriesRead ?? []).map((c, i) => ({ slug: c.slug, name: c.name, description: c.description ?? null, position: i }));
  const seenCategory = new Set<string>();
  categories.forEach((c, i) => {
    if (seenCategory.has(c.slug)) add(rel('categories.json'), `[${i}].slug: "${c.slug}" appears more than once`);
    seenCategory.add(c.slug);
  });

  const producers: ContentProducer[] = [];
  for (const name of await listFiles('producers', '.md')) {
    const file = rel(`producers/${name}`);
    const producerSlug = name.replace(/\.md$/, '');
    if (!marketSlugPattern.test(producerSlug)) {
      add(file, `file name "${name}" is not a valid slug (lowercase letters, digits and single hyphens)`);
      continue;
    }
    let parsedMatter: matter.GrayMatterFile<string>;
    try {
      parsedMatter = matter(await fs.readFile(path.join(dir, 'producers', name), 'utf8'), {});
    } catch (error) {
      add(file, `front matter is not valid YAML (${(error as Error).message.split('\n')[0]})`);
      continue;
    }
    const fm = parseWithFriendlyErrors(producerSchema, parsedMatter.data);
    if (!fm.ok) {
      for (const p of fm.problems) add(file, p);
      continue;
    }
    const v = fm.value;
    producers.push({
      slug: producerSlug,
      name: v.name,
      storyHtml: renderMarkdown(parsedMatter.content),
      location: v.location ?? null,
      website: v.website ?? null,
      image: v.image ?? null,
      contactEmail: v.contact?.email ?? null,
      contactPhone: v.contact?.phone ?? null,
      featured: v.featured,
      file,
    });
  }
  const producerSlugs = new Set(producers.map((p) => p.slug));

  const products: ContentProduct[] = [];
  const productFile = new Map<string, string>();
  const skuFile = new Map<string, string>();
  for (const name of await listFiles('products', '.json')) {
    const file = `products/${name}`;
    const producer = name.replace(/\.json$/, '');
    if (!producerSlugs.has(producer)) add(rel(file), `no producer "${producer}": the file name must be a producer's slug (producers/${producer}.md)`);
    const list = await readJson(file, productsSchema);
    if (!list) continue;
    list.forEach((p, i) => {
      const at = `[${i}]`;
      const other = productFile.get(p.slug);
      if (other) add(rel(file), `${at}.slug: "${p.slug}" is already used in ${other}`);
      productFile.set(p.slug, rel(file));
      if (p.category && categoriesRead && !seenCategory.has(p.category)) add(rel(file), `${at}.category: unknown category "${p.category}" (add it to categories.json)`);
      const variants: ContentVariant[] = [];
      p.variants.forEach((v, j) => {
        const where = `${at}.variants[${j}]`;
        const seen = skuFile.get(v.sku);
        if (seen) add(rel(file), `${where}.sku: "${v.sku}" is already used in ${seen}`);
        skuFile.set(v.sku, rel(file));
        const cur = v.currency ?? defaultCurrency;
        const price = parseAmount(v.price, cur);
        if (!price.ok) add(rel(file), `${where}.price: ${price.error}`);
        else variants.push({ sku: v.sku, unit: v.unit, size: v.size ?? null, priceMinor: price.value, currency: cur, stock: v.stock });
      });
      products.push({ slug: p.slug, producer, name: p.name, category: p.category ?? null, description: p.description.trim(), image: p.image ?? null, available: p.available, variants, file: rel(file) });
    });
  }

  const cycles: ContentCycle[] = [];
  const cyclesRead = await readJson('cycles.json', cyclesSchema, []);
  const seenCycle = new Set<string>();
  (cyclesRead ?? []).forEach((c, i) => {
    const at = `[${i}]`;
    const file = rel('cycles.json');
    if (seenCycle.has(c.slug)) add(file, `${at}.slug: "${c.slug}" appears more than once`);
    seenCycle.add(c.slug);
    const opens = localTimeToInstant(c.opensAt, c.timeZone);
    const closes = localTimeToInstant(c.closesAt, c.timeZone);
    if (!opens.ok) add(file, `${at}.opensAt: ${opens.error}`);
    if (!closes.ok) add(file, `${at}.closesAt: ${closes.error}`);
    if (opens.ok && closes.ok && closes.value <= opens.value) add(file, `${at}.closesAt: must be after opensAt`);
    c.producers.forEach((p, j) => {
      if (!producerSlugs.has(p)) add(file, `${at}.producers[${j}]: unknown producer "${p}"`);
    });
    const offered = c.products ?? products.filter((p) => c.producers.includes(p.producer) && p.available).map((p) => p.slug);
    (c.products ?? []).forEach((p, j) => {
      const product = products.find((x) => x.slug === p);
      if (!product) add(file, `${at}.products[${j}]: unknown product "${p}"`);
      else if (!c.producers.includes(product.producer)) add(file, `${at}.products[${j}]: "${p}" is made by "${product.producer}", which is not one of the cycle's producers`);
    });
    if (opens.ok && closes.ok) cycles.push({ slug: c.slug, name: c.name, opensAt: opens.value, closesAt: closes.value, timeZone: c.timeZone, note: c.note.trim(), producers: [...new Set(c.producers)], products: [...new Set(offered)] });
  });

  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.file}: ${p.message}`).join('\n');
    const message = `${problems.length} problem(s) in ${dir}:\n${lines}`;
    const error = new ContentError(problems[0]!.file, message, problemsHint);
    Object.defineProperty(error, 'message', { value: message });
    throw error;
  }
  return { dir, currency: defaultCurrency, categories, producers, products, cycles };
}
