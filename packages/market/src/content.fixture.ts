import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A small, valid market folder for tests (`<dir>/market/`, no images: image handling is the
 * media package's); `files` adds or replaces files under market/ (null removes).
 */
export async function writeMarketFixture(files: Record<string, string | null> = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-market-'));
  const base: Record<string, string> = {
    'market.json': JSON.stringify({ currency: 'GBP' }),
    'categories.json': JSON.stringify([
      { slug: 'vegetables', name: 'Vegetables' },
      { slug: 'bakery', name: 'Bakery', description: 'Bread and cakes.' },
    ]),
    'producers/higher-farm.md': '---\nname: Higher Farm\nlocation: Rose Ash, Devon\nwebsite: https://higher-farm.example\ncontact:\n  email: hello@higher-farm.example\nfeatured: true\n---\nWe grow **vegetables**.\n',
    'producers/oak-bakery.md': '---\nname: Oak Bakery\n---\nBread, slowly.\n',
    'products/higher-farm.json': JSON.stringify([
      { slug: 'kale', name: 'Kale', category: 'vegetables', description: 'Curly.', variants: [{ sku: 'HF-KALE', unit: 'bunch', price: '1.80', stock: 12 }] },
      {
        slug: 'potatoes',
        name: 'Potatoes',
        category: 'vegetables',
        variants: [
          { sku: 'HF-POT-2K', unit: 'bag', size: '2 kg', price: '2.40', stock: 0 },
          { sku: 'HF-POT-5K', unit: 'bag', size: '5 kg', price: '5.00', stock: 3 },
        ],
      },
      { slug: 'asparagus', name: 'Asparagus', category: 'vegetables', available: false, variants: [{ sku: 'HF-ASP', unit: 'bunch', price: '3.50', stock: 0 }] },
    ]),
    'products/oak-bakery.json': JSON.stringify([{ slug: 'sourdough', name: 'Sourdough', category: 'bakery', variants: [{ sku: 'OB-SOUR', unit: 'loaf', size: '800 g', price: '4.50', stock: 'on-demand' }] }]),
    'cycles.json': JSON.stringify([
      { slug: 'winter', name: 'Winter market', opensAt: '2026-11-16T08:00', closesAt: '2027-03-31T20:00', timeZone: 'Europe/London', note: 'Pickup Saturdays.', producers: ['higher-farm', 'oak-bakery'] },
      { slug: 'spring', name: 'Spring market', opensAt: '2027-04-01T08:00', closesAt: '2027-06-30T20:00', timeZone: 'Europe/London', producers: ['higher-farm'], products: ['kale'] },
    ]),
  };
  for (const [name, content] of Object.entries({ ...base, ...files })) {
    if (content === null) continue;
    const file = path.join(dir, 'market', name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
  }
  return dir;
}
