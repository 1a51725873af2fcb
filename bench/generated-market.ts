import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * A deterministic market content folder (`<contentDir>/market/`, the format of
 * content/market/ and packages/market/src/content-loader.ts) for the benchmarks: the same
 * sizes give the same files byte for byte.
 *
 * - market.json (GBP) and categories.json (12 categories);
 * - `producers` producers (`producers/<slug>.md`, a story of ~150 words in two paragraphs;
 *   every 10th has a website and contact, the first 6 are featured);
 * - `products` products spread round-robin over them (`products/<producer>.json`): 1–3
 *   variants each with string prices ("3.50"); every 7th variant is made to order
 *   ("on-demand"), every 11th tracked one has stock 0, the rest 1–40; every 25th product is
 *   unavailable (out of season);
 * - cycles.json: one cycle open from 2024 to the end of 2098 (every producer) and one
 *   upcoming in 2099 (every other producer), fixed dates so that the folder never changes.
 *
 * Images are few on purpose, so that encoding them does not dominate the seed: `imageFiles`
 * small JPEGs copied from the demo market's images/ folder, used by the first few producers
 * and a dozen products (each file is encoded once however many rows use it).
 */
export interface GeneratedMarket {
  dir: string;
  producers: number;
  products: number;
  variants: number;
  categories: number;
  /** Rows that refer to an image, and the distinct files they share. */
  withImage: { producers: number; products: number; files: number };
  /**
   * An in-stock SKU whose product has it as its only variant, is available and is in the open
   * cycle: setting its stock to 0 sells the product out (its page, its producer's and its
   * category listing change).
   */
  sellOutSku: { sku: string; product: string; producer: string; category: string; stock: number };
}

const places = 'ashford barton combe down east fenn gill holt knoll lynch marsh nether orley pound ridge stowe thorn upton wick yarde'.split(' ');
const kinds = ['farm', 'dairy', 'bakery', 'orchard', 'apiary', 'pottery', 'gardens', 'mill'];
const storyWords = 'we grow bake press churn pick store sell share the a our small herd field orchard hedge lane market winter summer spring apples bread cheese honey eggs soil rain members neighbours weekly batches hand slow careful seasons'.split(' ');
const nouns = 'kale leeks potatoes carrots beetroot chard apples pears plums loaf rolls buns cheddar butter cream yoghurt honey jam chutney cider juice eggs mushrooms candles mugs bowls baskets soap wreath herbs'.split(' ');
const adjectives = 'organic heritage smoked wild golden early late spiced stoneground raw unsalted mature seeded rustic'.split(' ');
const units: { unit: string; sizes: string[] }[] = [
  { unit: 'bag', sizes: ['500 g', '1 kg', '2.5 kg'] },
  { unit: 'jar', sizes: ['227 g', '340 g', '454 g'] },
  { unit: 'each', sizes: ['small', 'medium', 'large'] },
  { unit: 'bunch', sizes: ['single', 'double', 'market'] },
  { unit: 'bottle', sizes: ['330 ml', '750 ml', '1 litre'] },
  { unit: 'kg', sizes: ['1 kg', '2 kg', '5 kg'] },
];
const categoryNames = ['Vegetables', 'Fruit', 'Dairy', 'Eggs', 'Meat', 'Bakery', 'Pantry', 'Drinks', 'Flowers', 'Plants', 'Crafts', 'Household'];
const slugOf = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const words = (seed: number, n: number) => Array.from({ length: n }, (_, k) => storyWords[(seed * 7 + k * 3 + Math.floor(k / 5)) % storyWords.length]).join(' ');
const sentence = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
const price = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

export function producerSlug(i: number): string {
  return `${places[i % places.length]}-${kinds[i % kinds.length]}-${i}`;
}

/**
 * Writes `<contentDir>/market/` (replacing one already there). `imagesFrom` is a market
 * images folder to copy `imageFiles` JPEGs from (the smallest, by name order for ties).
 *
 * @example
 * const market = await writeGeneratedMarket('/tmp/content', { producers: 200, products: 2000, imagesFrom: 'content/market/images' });
 */
export async function writeGeneratedMarket(contentDir: string, opts: { producers: number; products: number; imagesFrom: string; imageFiles?: number }): Promise<GeneratedMarket> {
  const { producers, products } = opts;
  if (!Number.isInteger(producers) || producers < 1) throw new Error('producers must be a whole number of at least 1');
  if (!Number.isInteger(products) || products < producers) throw new Error('products must be a whole number, at least one per producer');
  const dir = path.join(contentDir, 'market');
  await fs.rm(dir, { recursive: true, force: true });
  for (const sub of ['producers', 'products', 'images']) await fs.mkdir(path.join(dir, sub), { recursive: true });

  // A handful of small images, copied under stable names.
  const available = await Promise.all(
    (await fs.readdir(opts.imagesFrom)).filter((f) => /\.jpe?g$/i.test(f)).sort().map(async (f) => ({ f, size: (await fs.stat(path.join(opts.imagesFrom, f))).size })),
  );
  const picked = available.sort((a, b) => a.size - b.size || a.f.localeCompare(b.f)).slice(0, opts.imageFiles ?? 4);
  const images: string[] = [];
  for (const [k, { f }] of picked.entries()) {
    const name = `bench-${k + 1}.jpg`;
    await fs.copyFile(path.join(opts.imagesFrom, f), path.join(dir, 'images', name));
    images.push(`images/${name}`);
  }
  const producerImage = (i: number) => (images.length > 0 && i < 3 ? images[i % images.length] : undefined);
  const productImageEvery = Math.max(1, Math.floor(products / 12));
  const productImage = (i: number) => (images.length > 0 && i % productImageEvery === 0 ? images[(i / productImageEvery) % images.length] : undefined);

  await fs.writeFile(path.join(dir, 'market.json'), `${JSON.stringify({ currency: 'GBP' }, null, 2)}\n`);
  const categories = categoryNames.map((name, i) => ({ slug: slugOf(name), name, description: sentence(`${name.toLowerCase()} from ${words(i, 18)}`) }));
  await fs.writeFile(path.join(dir, 'categories.json'), `${JSON.stringify(categories, null, 2)}\n`);

  for (let i = 0; i < producers; i++) {
    const slug = producerSlug(i);
    const place = places[i % places.length]!;
    const name = `${place.charAt(0).toUpperCase()}${place.slice(1)} ${kinds[i % kinds.length]} ${i}`;
    const fm = [`name: ${JSON.stringify(name)}`, `location: ${JSON.stringify(`${place.charAt(0).toUpperCase()}${place.slice(1)}, Devon`)}`];
    if (i % 10 === 0) fm.push(`website: https://${slug}.example`, 'contact:', `  email: hello@${slug}.example`, `  phone: "01632 ${String(960000 + i).slice(-6)}"`);
    const image = producerImage(i);
    if (image) fm.push(`image: ${image}`);
    if (i < 6) fm.push('featured: true');
    const story = `${sentence(words(i, 40))} ${sentence(words(i + 1, 35))}\n\n${sentence(words(i + 2, 40))} *${sentence(words(i + 3, 12))}* ${sentence(words(i + 4, 23))}\n`;
    await fs.writeFile(path.join(dir, 'producers', `${slug}.md`), `---\n${fm.join('\n')}\n---\n${story}`);
  }

  let variants = 0;
  let productsWithImage = 0;
  let sellOut: GeneratedMarket['sellOutSku'] | undefined;
  const byProducer: unknown[][] = Array.from({ length: producers }, () => []);
  for (let i = 0; i < products; i++) {
    const p = i % producers;
    const noun = nouns[i % nouns.length]!;
    const adjective = adjectives[Math.floor(i / nouns.length) % adjectives.length]!;
    const category = categories[(i * 5 + Math.floor(i / 12)) % categories.length]!.slug;
    const u = units[i % units.length]!;
    const count = 1 + (i % 3);
    const list = Array.from({ length: count }, (_, j) => {
      const n = i * 3 + j;
      const stock: number | 'on-demand' = n % 7 === 0 ? 'on-demand' : n % 11 === 0 ? 0 : 1 + ((i * 5 + j * 13) % 40);
      return { sku: `P${i}-V${j + 1}`, unit: u.unit, size: u.sizes[j], price: price(150 + ((i * 37 + j * 113) % 2400) + j * 250), stock };
    });
    variants += count;
    const available = i % 25 !== 24;
    const image = productImage(i);
    if (image) productsWithImage++;
    const slug = `${adjective}-${noun}-${i}`;
    const product: Record<string, unknown> = { slug, name: `${adjective.charAt(0).toUpperCase()}${adjective.slice(1)} ${noun} no. ${i}`, category, description: `${sentence(words(i, 30))} ${sentence(words(i + 5, 20))}` };
    if (image) product.image = image;
    product.variants = list;
    product.available = available;
    byProducer[p]!.push(product);
    const only = list[0]!;
    if (!sellOut && i >= Math.floor(products / 2) && count === 1 && available && typeof only.stock === 'number' && only.stock > 0) {
      sellOut = { sku: only.sku, product: slug, producer: producerSlug(p), category, stock: only.stock };
    }
  }
  for (let p = 0; p < producers; p++) await fs.writeFile(path.join(dir, 'products', `${producerSlug(p)}.json`), `${JSON.stringify(byProducer[p], null, 2)}\n`);

  const all = Array.from({ length: producers }, (_, i) => producerSlug(i));
  const cycles = [
    { slug: 'bench-open', name: 'Open market (bench)', opensAt: '2024-01-06T08:00', closesAt: '2098-12-31T20:00', timeZone: 'Europe/London', note: 'Order by Wednesday 8pm; collect on Saturday.', producers: all },
    { slug: 'bench-upcoming', name: 'Upcoming market (bench)', opensAt: '2099-01-02T08:00', closesAt: '2099-06-30T20:00', timeZone: 'Europe/London', note: 'A shorter list to start with.', producers: all.filter((_, i) => i % 2 === 0) },
  ];
  await fs.writeFile(path.join(dir, 'cycles.json'), `${JSON.stringify(cycles, null, 2)}\n`);
  if (!sellOut) throw new Error('no product to sell out: generate more products');
  return {
    dir,
    producers,
    products,
    variants,
    categories: categories.length,
    withImage: { producers: Array.from({ length: producers }, (_, i) => producerImage(i)).filter(Boolean).length, products: productsWithImage, files: images.length },
    sellOutSku: sellOut,
  };
}
