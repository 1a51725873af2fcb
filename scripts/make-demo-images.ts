#!/usr/bin/env node
// Draws the demo content's images (content/images/*.jpg) and the site's favicon.ico from
// SVG, so every image in the repository is made for the project (licence:
// content/images/LICENSE). Deterministic: the same script writes the same files.
//
//   npx node scripts/make-demo-images.ts          (or: node scripts/make-demo-images.ts on Node 24)
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const W = 1600;
const H = 1000;

/** A small deterministic PRNG (mulberry32), so scattered details land in the same place each run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const f = (n: number) => n.toFixed(1);

/** Soft film grain and a vignette: flat shapes read more like a picture with them. */
const finish = (seed: number) => `
  <filter id="grain" x="0" y="0" width="100%" height="100%">
    <feTurbulence type="fractalNoise" baseFrequency="0.85" numOctaves="2" seed="${seed}"/>
    <feColorMatrix type="matrix" values="0.33 0.33 0.33 0 0  0.33 0.33 0.33 0 0  0.33 0.33 0.33 0 0  0 0 0 0 0.09"/>
  </filter>
  <radialGradient id="vignette" cx="50%" cy="50%" r="75%">
    <stop offset="60%" stop-color="#000" stop-opacity="0"/>
    <stop offset="100%" stop-color="#000" stop-opacity="0.22"/>
  </radialGradient>`;
const overlay = `<rect width="${W}" height="${H}" fill="url(#vignette)"/><rect width="${W}" height="${H}" filter="url(#grain)"/>`;

function svg(defs: string, body: string, seed: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><defs>${defs}${finish(seed)}</defs>${body}${overlay}</svg>`;
}

/** Saturday market in the chapel yard: striped awnings, bunting, a stone wall. */
function springMarket(): string {
  const r = random(11);
  const stalls = [
    { x: 80, c: '#9c2f4a' },
    { x: 560, c: '#2f6f5e' },
    { x: 1040, c: '#c27c1a' },
  ];
  let body = `<rect width="${W}" height="${H}" fill="url(#sky)"/>`;
  body += `<circle cx="1320" cy="170" r="90" fill="#fff6d8" opacity="0.9"/>`;
  for (let i = 0; i < 5; i++) body += `<ellipse cx="${f(150 + i * 330 + r() * 80)}" cy="${f(120 + r() * 90)}" rx="${f(110 + r() * 60)}" ry="${f(28 + r() * 14)}" fill="#fff" opacity="0.75"/>`;
  body += `<path d="M0 520 Q 400 430 800 500 T 1600 470 V 1000 H 0 Z" fill="#7fa36b"/>`;
  body += `<rect x="0" y="560" width="${W}" height="140" fill="url(#wall)"/>`;
  for (let row = 0; row < 4; row++) for (let i = 0; i < 24; i++) body += `<rect x="${f(i * 70 - (row % 2) * 35)}" y="${560 + row * 35}" width="66" height="31" rx="4" fill="#b9ad97" opacity="${f(0.5 + r() * 0.4)}"/>`;
  body += `<rect x="0" y="700" width="${W}" height="300" fill="url(#cobbles)"/>`;
  for (let i = 0; i < 160; i++) body += `<ellipse cx="${f(r() * W)}" cy="${f(720 + r() * 280)}" rx="${f(18 + r() * 14)}" ry="${f(8 + r() * 5)}" fill="#8d8577" opacity="0.35"/>`;
  for (const s of stalls) {
    body += `<rect x="${s.x + 20}" y="470" width="12" height="330" fill="#5a4632"/><rect x="${s.x + 448}" y="470" width="12" height="330" fill="#5a4632"/>`;
    body += `<rect x="${s.x}" y="690" width="480" height="120" fill="#e9dfc7"/><rect x="${s.x}" y="690" width="480" height="14" fill="#cdbf9f"/>`;
    for (let i = 0; i < 8; i++) body += `<path d="M${s.x + i * 60} 400 h60 l-6 90 h-48 z" fill="${i % 2 ? '#fbfaf6' : s.c}"/>`;
    for (let i = 0; i < 8; i++) body += `<path d="M${s.x + i * 60} 490 q30 34 60 0" fill="${i % 2 ? '#fbfaf6' : s.c}"/>`;
    for (let i = 0; i < 9; i++) {
      const cx = s.x + 45 + i * 49;
      const colour = ['#d8452b', '#f0b429', '#6aa84f', '#8e3b7a', '#e07a3f'][Math.floor(r() * 5)];
      body += `<ellipse cx="${f(cx)}" cy="685" rx="22" ry="16" fill="#a07a4f"/>`;
      for (let k = 0; k < 5; k++) body += `<circle cx="${f(cx - 12 + r() * 24)}" cy="${f(668 + r() * 10)}" r="${f(8 + r() * 5)}" fill="${colour}"/>`;
    }
  }
  // Two swags of bunting across the yard; each flag hangs from the string.
  let bunting = '<path d="M0 280 Q 400 380 800 280 Q 1200 380 1600 280" stroke="#4b3b2a" stroke-width="3" fill="none"/>';
  for (let i = 0; i < 28; i++) {
    const x = i * 58 + 10;
    const t = (x % 800) / 800;
    const y = 280 + 200 * t * (1 - t);
    const colour = ['#9c2f4a', '#f0b429', '#2f6f5e', '#5b8dd6', '#e07a3f'][i % 5];
    bunting += `<path d="M${x} ${f(y)} l40 0 l-20 46 z" fill="${colour}"/>`;
  }
  body += bunting;
  const defs = `
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#8fc1e8"/><stop offset="0.7" stop-color="#d9ecf5"/></linearGradient>
    <linearGradient id="wall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#c9bda6"/><stop offset="1" stop-color="#a89b83"/></linearGradient>
    <linearGradient id="cobbles" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#b3aa99"/><stop offset="1" stop-color="#8c8373"/></linearGradient>`;
  return svg(defs, body, 11);
}

/** An apple tree in late light, crates of apples below. */
function orchard(): string {
  const r = random(23);
  let body = `<rect width="${W}" height="${H}" fill="url(#dusk)"/><circle cx="380" cy="300" r="150" fill="#ffd98a" opacity="0.8"/>`;
  body += `<path d="M0 640 Q 500 560 1000 620 T 1600 600 V 1000 H 0 Z" fill="#6f8f3e"/><path d="M0 760 Q 600 700 1600 770 V 1000 H 0 Z" fill="#587a31"/>`;
  body += `<path d="M930 900 C 940 760 900 640 950 520 L 1000 520 C 1030 640 1010 780 1030 900 Z" fill="#5b4330"/>`;
  body += `<path d="M960 600 C 880 540 820 520 760 470" stroke="#5b4330" stroke-width="26" fill="none"/><path d="M990 580 C 1080 520 1140 500 1210 450" stroke="#5b4330" stroke-width="24" fill="none"/>`;
  for (let i = 0; i < 70; i++) body += `<circle cx="${f(720 + r() * 560)}" cy="${f(230 + r() * 330)}" r="${f(50 + r() * 60)}" fill="${['#3f6b2a', '#4c7d31', '#5e8f3a'][Math.floor(r() * 3)]}" opacity="0.9"/>`;
  for (let i = 0; i < 45; i++) {
    const x = 740 + r() * 520;
    const y = 260 + r() * 300;
    body += `<circle cx="${f(x)}" cy="${f(y)}" r="17" fill="url(#apple)"/><rect x="${f(x - 1.5)}" y="${f(y - 24)}" width="3" height="9" fill="#4b3522"/>`;
  }
  for (let c = 0; c < 3; c++) {
    const x = 160 + c * 230;
    const y = 770 + (c % 2) * 40;
    body += `<rect x="${x}" y="${y}" width="200" height="120" fill="#b98a56"/><rect x="${x}" y="${y + 40}" width="200" height="10" fill="#9c7245"/><rect x="${x}" y="${y + 85}" width="200" height="10" fill="#9c7245"/>`;
    for (let k = 0; k < 9; k++) body += `<circle cx="${f(x + 22 + k * 20)}" cy="${f(y - 4 + r() * 6)}" r="16" fill="url(#apple)"/>`;
  }
  for (let i = 0; i < 40; i++) body += `<path d="M${f(r() * W)} ${f(880 + r() * 120)} l6 -26 l6 26 z" fill="#7fa14a" opacity="0.8"/>`;
  const defs = `
    <linearGradient id="dusk" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#f6c28b"/><stop offset="0.6" stop-color="#fbe3b8"/></linearGradient>
    <radialGradient id="apple" cx="35%" cy="35%" r="70%"><stop offset="0" stop-color="#ff8a6b"/><stop offset="0.5" stop-color="#c8322a"/><stop offset="1" stop-color="#7d1a17"/></radialGradient>`;
  return svg(defs, body, 23);
}

/** A sourdough loaf on a board, flour dusted, warm kitchen light. */
function sourdough(): string {
  const r = random(37);
  let body = `<rect width="${W}" height="${H}" fill="url(#kitchen)"/>`;
  body += `<rect x="0" y="640" width="${W}" height="360" fill="url(#table)"/>`;
  for (let i = 0; i < 14; i++) body += `<rect x="0" y="${f(650 + i * 26 + r() * 6)}" width="${W}" height="2" fill="#6b4a2e" opacity="0.25"/>`;
  body += `<ellipse cx="800" cy="760" rx="560" ry="120" fill="#3b2a1b" opacity="0.25"/>`;
  body += `<rect x="280" y="640" width="1040" height="140" rx="40" fill="url(#board)"/><circle cx="1260" cy="710" r="16" fill="#5a3e25"/>`;
  body += `<ellipse cx="780" cy="600" rx="380" ry="190" fill="url(#crust)"/>`;
  body += `<path d="M480 560 Q 780 440 1080 560" stroke="#f3dfb8" stroke-width="26" fill="none" stroke-linecap="round" opacity="0.9"/>`;
  body += `<path d="M520 630 Q 780 520 1040 630" stroke="#e9cf9f" stroke-width="14" fill="none" stroke-linecap="round" opacity="0.7"/>`;
  for (let i = 0; i < 220; i++) body += `<circle cx="${f(420 + r() * 720)}" cy="${f(440 + r() * 260)}" r="${f(1 + r() * 2.5)}" fill="#fff" opacity="${f(0.3 + r() * 0.5)}"/>`;
  body += `<ellipse cx="1380" cy="300" rx="120" ry="40" fill="#fff4dc" opacity="0.5"/>`;
  body += `<path d="M120 180 h260 v300 h-260 z" fill="#fff" opacity="0.18"/><path d="M250 180 v300 M120 330 h260" stroke="#a67c52" stroke-width="10" opacity="0.5"/>`;
  const defs = `
    <linearGradient id="kitchen" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4d9a6"/><stop offset="1" stop-color="#c98f55"/></linearGradient>
    <linearGradient id="table" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#9b6b40"/><stop offset="1" stop-color="#6e4727"/></linearGradient>
    <linearGradient id="board" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#d9a86b"/><stop offset="1" stop-color="#b07d45"/></linearGradient>
    <radialGradient id="crust" cx="45%" cy="35%" r="70%"><stop offset="0" stop-color="#e3a659"/><stop offset="0.6" stop-color="#a9642a"/><stop offset="1" stop-color="#6b3a16"/></radialGradient>`;
  return svg(defs, body, 37);
}

/** Wild garlic on a woodland floor: broad leaves and white star flowers. */
function wildGarlic(): string {
  const r = random(41);
  let body = `<rect width="${W}" height="${H}" fill="url(#wood)"/>`;
  for (let i = 0; i < 7; i++) body += `<rect x="${f(60 + i * 240 + r() * 60)}" y="0" width="${f(26 + r() * 30)}" height="520" fill="#4a3b2c" opacity="${f(0.35 + r() * 0.3)}"/>`;
  body += `<rect x="0" y="420" width="${W}" height="580" fill="url(#floor)"/>`;
  for (let i = 0; i < 150; i++) {
    const x = r() * W;
    const y = 440 + r() * 600;
    const a = -70 + r() * 140;
    const len = 90 + r() * 120;
    body += `<path transform="translate(${f(x)} ${f(y)}) rotate(${f(a)})" d="M0 0 C ${f(len * 0.18)} ${f(-len * 0.4)} ${f(len * 0.18)} ${f(-len * 0.8)} 0 ${f(-len)} C ${f(-len * 0.18)} ${f(-len * 0.8)} ${f(-len * 0.18)} ${f(-len * 0.4)} 0 0 Z" fill="${['#3d7a2f', '#4f8f37', '#5fa042', '#347028'][Math.floor(r() * 4)]}"/>`;
  }
  for (let i = 0; i < 22; i++) {
    const cx = 80 + r() * 1440;
    const cy = 420 + r() * 300;
    body += `<path d="M${f(cx)} ${f(cy + 140)} L ${f(cx)} ${f(cy)}" stroke="#6d9b46" stroke-width="4"/>`;
    for (let k = 0; k < 9; k++) {
      const fx = cx - 30 + r() * 60;
      const fy = cy - 24 + r() * 40;
      let star = '';
      for (let p = 0; p < 6; p++) star += `<ellipse cx="${f(fx)}" cy="${f(fy - 7)}" rx="3.5" ry="8" fill="#fbfbf4" transform="rotate(${p * 60} ${f(fx)} ${f(fy)})"/>`;
      body += `${star}<circle cx="${f(fx)}" cy="${f(fy)}" r="2.5" fill="#e8e27a"/>`;
    }
  }
  const defs = `
    <linearGradient id="wood" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#cfe3b4"/><stop offset="1" stop-color="#7c9a5a"/></linearGradient>
    <linearGradient id="floor" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#5c4a32"/><stop offset="1" stop-color="#33281b"/></linearGradient>`;
  return svg(defs, body, 41);
}

/** The shared cold room: cool light, shelves of vegetable crates. */
function coldRoom(): string {
  const r = random(53);
  let body = `<rect width="${W}" height="${H}" fill="url(#cool)"/>`;
  body += `<rect x="0" y="860" width="${W}" height="140" fill="#a9b8bf"/>`;
  const produce = [
    ['#e07a3f', '#c55f26'],
    ['#6aa84f', '#4d8a36'],
    ['#8e3b7a', '#6d2a5d'],
    ['#d8452b', '#a8321f'],
    ['#f0d264', '#d1b23f'],
  ];
  for (let shelf = 0; shelf < 3; shelf++) {
    const y = 240 + shelf * 230;
    body += `<rect x="120" y="${y + 170}" width="1360" height="16" fill="#c7d1d6"/><rect x="120" y="${y + 186}" width="1360" height="6" fill="#8a979d"/>`;
    for (let c = 0; c < 5; c++) {
      const x = 150 + c * 265;
      const [light, dark] = produce[(c + shelf * 2) % produce.length]!;
      body += `<rect x="${x}" y="${y + 70}" width="230" height="100" fill="#b48a5a"/><rect x="${x}" y="${y + 110}" width="230" height="8" fill="#936d43"/>`;
      for (let k = 0; k < 14; k++) body += `<circle cx="${f(x + 18 + r() * 194)}" cy="${f(y + 62 + r() * 18)}" r="${f(15 + r() * 8)}" fill="${r() > 0.5 ? light : dark}"/>`;
    }
  }
  body += `<rect x="120" y="160" width="10" height="720" fill="#8a979d"/><rect x="1470" y="160" width="10" height="720" fill="#8a979d"/>`;
  body += `<rect x="560" y="40" width="480" height="40" rx="18" fill="#eef8ff" opacity="0.9"/><rect x="0" y="0" width="${W}" height="${H}" fill="url(#glow)"/>`;
  const defs = `
    <linearGradient id="cool" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#dbe9ef"/><stop offset="1" stop-color="#b5c9d2"/></linearGradient>
    <radialGradient id="glow" cx="50%" cy="5%" r="70%"><stop offset="0" stop-color="#ffffff" stop-opacity="0.45"/><stop offset="1" stop-color="#ffffff" stop-opacity="0"/></radialGradient>`;
  return svg(defs, body, 53);
}

/** Repair café: a workbench with a bicycle wheel, a spanner and a toaster awaiting help. */
function repairCafe(): string {
  const r = random(67);
  let body = `<rect width="${W}" height="${H}" fill="url(#hall)"/>`;
  for (let i = 0; i < 9; i++) body += `<rect x="${i * 190 - 20}" y="0" width="8" height="620" fill="#c9b79a" opacity="0.5"/>`;
  body += `<rect x="0" y="600" width="${W}" height="400" fill="url(#bench)"/><rect x="0" y="600" width="${W}" height="18" fill="#7a5638"/>`;
  body += `<g transform="translate(520 470)"><circle r="250" fill="none" stroke="#2d2d2d" stroke-width="30"/><circle r="225" fill="none" stroke="#9aa3a8" stroke-width="8"/>`;
  for (let s = 0; s < 32; s++) body += `<line x1="0" y1="0" x2="${f(225 * Math.cos((s * Math.PI) / 16))}" y2="${f(225 * Math.sin((s * Math.PI) / 16))}" stroke="#c8cfd3" stroke-width="2.5"/>`;
  body += `<circle r="26" fill="#7d868b"/></g>`;
  body += `<g transform="translate(1050 690) rotate(-18)"><rect x="-170" y="-16" width="300" height="32" rx="12" fill="url(#steel)"/><path d="M130 -40 a46 46 0 1 1 0 80 l0 -26 a20 20 0 0 0 0 -28 z" fill="url(#steel)"/><circle cx="-150" cy="0" r="30" fill="url(#steel)"/><circle cx="-150" cy="0" r="14" fill="#7a5638"/></g>`;
  body += `<rect x="1120" y="420" width="300" height="190" rx="36" fill="#b7c2c8"/><rect x="1160" y="400" width="90" height="30" rx="6" fill="#3c3c3c"/><rect x="1290" y="400" width="90" height="30" rx="6" fill="#3c3c3c"/><rect x="1405" y="480" width="30" height="18" fill="#3c3c3c"/>`;
  body += `<path d="M200 760 h240 l-20 120 h-200 z" fill="#d7c28f"/><rect x="210" y="740" width="220" height="26" rx="6" fill="#c2ab72"/>`;
  for (let i = 0; i < 30; i++) body += `<rect x="${f(240 + r() * 170)}" y="${f(770 + r() * 90)}" width="${f(12 + r() * 12)}" height="5" fill="#6c6c6c" opacity="0.7" transform="rotate(${f(r() * 180)} ${f(300)} ${f(800)})"/>`;
  body += `<rect x="1180" y="820" width="260" height="110" rx="8" fill="#fbfaf6"/><path d="M1200 850 h200 M1200 880 h160 M1200 905 h120" stroke="#9c2f4a" stroke-width="6"/>`;
  const defs = `
    <linearGradient id="hall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#efe2c9"/><stop offset="1" stop-color="#d8c39f"/></linearGradient>
    <linearGradient id="bench" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#a77a52"/><stop offset="1" stop-color="#7b5535"/></linearGradient>
    <linearGradient id="steel" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#e4e9ec"/><stop offset="1" stop-color="#8d979d"/></linearGradient>`;
  return svg(defs, body, 67);
}

const images: Record<string, () => string> = {
  'spring-market': springMarket,
  orchard,
  sourdough,
  'wild-garlic': wildGarlic,
  'cold-room': coldRoom,
  'repair-cafe': repairCafe,
};

/** An .ico holding PNG images (allowed since Windows Vista; every current browser reads it). */
function icoOf(pngs: { size: number; data: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(pngs.length, 4);
  const entries: Buffer[] = [];
  let offset = 6 + 16 * pngs.length;
  for (const p of pngs) {
    const e = Buffer.alloc(16);
    e.writeUInt8(p.size >= 256 ? 0 : p.size, 0);
    e.writeUInt8(p.size >= 256 ? 0 : p.size, 1);
    e.writeUInt8(0, 2);
    e.writeUInt8(0, 3);
    e.writeUInt16LE(1, 4);
    e.writeUInt16LE(32, 6);
    e.writeUInt32LE(p.data.length, 8);
    e.writeUInt32LE(offset, 12);
    offset += p.data.length;
    entries.push(e);
  }
  return Buffer.concat([header, ...entries, ...pngs.map((p) => p.data)]);
}

async function main(): Promise<void> {
  const out = path.join(root, 'content', 'images');
  await fs.mkdir(out, { recursive: true });
  for (const [name, draw] of Object.entries(images)) {
    const file = path.join(out, `${name}.jpg`);
    await sharp(Buffer.from(draw())).jpeg({ quality: 78, mozjpeg: true }).withMetadata({}).toFile(file);
    const { size } = await fs.stat(file);
    console.log(`${path.relative(root, file)}  ${W}×${H}  ${(size / 1024).toFixed(0)} KiB`);
  }
  const icon = await fs.readFile(path.join(root, 'sites', 'public', 'favicon.svg'));
  const pngs = await Promise.all([16, 32, 48].map(async (size) => ({ size, data: await sharp(icon, { density: 72 * (size / 32) * 4 }).resize(size, size).png({ compressionLevel: 9 }).toBuffer() })));
  const ico = path.join(root, 'sites', 'public', 'favicon.ico');
  await fs.writeFile(ico, icoOf(pngs));
  console.log(`${path.relative(root, ico)}  16, 32 and 48 px`);
}

await main();
