#!/usr/bin/env node
// Draws the market demo content's images (content/market/images/*.jpg): one still life per
// product and one landscape per producer, composed as SVG and rendered to 800×600 JPEG with
// sharp. The script reads content/market/{categories.json,producers/*.md,products/*.json} to
// know what to draw and where to write it (each item's `image` path, relative to
// content/market/). Licence of the output: content/market/images/LICENSE (CC0).
//
// Deterministic: the same content gives the same bytes (shapes come from a PRNG seeded by the
// slug), so re-running it does not churn git. The only outside input is the sans-serif font
// librsvg finds through fontconfig (DejaVu Sans here); another font would change the text only.
//
//   node scripts/market-demo-images.ts          (Node 24; or: npx node scripts/market-demo-images.ts)
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import matter from 'gray-matter';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const market = path.join(root, 'content', 'market');
const W = 800;
const H = 600;
const QUALITY = 70;
const MAX_BYTES = 40 * 1024;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** FNV-1a, to turn a slug into a seed. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small deterministic PRNG. */
type Rng = () => number;
function random(seed: number): Rng {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const f = (n: number) => (Math.round(n * 10) / 10).toString();
const between = (r: Rng, lo: number, hi: number) => lo + r() * (hi - lo);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Mix two #rrggbb colours; t = 0 gives a, 1 gives b. */
function mix(a: string, b: string, t: number): string {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  return `#${pa.map((v, i) => Math.round(v + ((pb[i] ?? v) - v) * t).toString(16).padStart(2, '0')).join('')}`;
}
const lighten = (c: string, t: number) => mix(c, '#ffffff', t);
const darken = (c: string, t: number) => mix(c, '#000000', t);

/** Approximate advance widths of DejaVu Sans Bold, in em, so long names can be shrunk to fit. */
function textWidthEm(s: string, bold: boolean): number {
  let w = 0;
  for (const ch of s) {
    if ('iljI.,:;\'|!'.includes(ch)) w += 0.36;
    else if ('ftr()-–'.includes(ch)) w += 0.48;
    else if (ch === ' ') w += 0.35;
    else if ('mwMW'.includes(ch)) w += 1.0;
    else if (ch >= 'A' && ch <= 'Z') w += 0.76;
    else w += 0.68;
  }
  return bold ? w : w * 0.92;
}

// ---------------------------------------------------------------------------------------------
// Palettes

interface Palette {
  top: string;
  bottom: string;
  table: string;
  accent: string;
  ink: string;
}
const palettes: Record<string, Palette> = {
  vegetables: { top: '#e3ebd2', bottom: '#c5d5ad', table: '#8d6c4a', accent: '#3f6b35', ink: '#22351c' },
  fruit: { top: '#f7e3d2', bottom: '#eec3a8', table: '#9a7252', accent: '#b2412e', ink: '#4a1f15' },
  'dairy-and-eggs': { top: '#e6eef3', bottom: '#c9dbe5', table: '#d9ccb0', accent: '#4f7a94', ink: '#1f3442' },
  meat: { top: '#efdcd2', bottom: '#d8b3a3', table: '#5f4636', accent: '#8a2c2c', ink: '#3c1414' },
  bakery: { top: '#f6e9cc', bottom: '#e8cf9d', table: '#9f774b', accent: '#a0622b', ink: '#4a2e12' },
  pantry: { top: '#f6ebcd', bottom: '#ebcf92', table: '#7b5838', accent: '#b7791f', ink: '#4a3110' },
  drinks: { top: '#e6e8c9', bottom: '#cbd096', table: '#6c573e', accent: '#6a7a24', ink: '#2e3310' },
  'flowers-and-plants': { top: '#eaeee2', bottom: '#d0dbc2', table: '#b3a184', accent: '#8c3f5d', ink: '#2d3a24' },
  crafts: { top: '#ebe5dc', bottom: '#d5c8b8', table: '#857768', accent: '#4d6a80', ink: '#2b2f36' },
  household: { top: '#ede6ef', bottom: '#d6cbda', table: '#8a6e54', accent: '#6b4f7a', ink: '#2f2236' },
};
const fallbackPalette = palettes.crafts as Palette;

// ---------------------------------------------------------------------------------------------
// Still-life motifs. Each draws around x = 0 with its base on y = 0 (the table top), at most
// about 210 px either side and 290 px tall.

type Motif = (r: Rng, p: Palette) => string;

/** A soft highlight on a rounded shape. */
const shine = (cx: number, cy: number, rx: number, ry: number) => `<ellipse cx="${f(cx)}" cy="${f(cy)}" rx="${f(rx)}" ry="${f(ry)}" fill="#fff" opacity="0.28"/>`;

function blob(cx: number, cy: number, rx: number, ry: number, fill: string, r: Rng, rot = 0): string {
  // A slightly irregular ellipse, for potatoes, celeriac and the like.
  const pts: string[] = [];
  const n = 9;
  for (let i = 0; i < n; i++) {
    const a = (i / n) * Math.PI * 2;
    const k = between(r, 0.9, 1.06);
    pts.push(`${f(cx + Math.cos(a) * rx * k)} ${f(cy + Math.sin(a) * ry * k)}`);
  }
  // Close the shape with smooth quadratic curves through midpoints.
  const p = pts.map((s) => s.split(' ').map(Number) as [number, number]);
  let d = '';
  for (let i = 0; i < n; i++) {
    const a = p[i] as [number, number];
    const b = p[(i + 1) % n] as [number, number];
    const mx = (a[0] + b[0]) / 2;
    const my = (a[1] + b[1]) / 2;
    d += i === 0 ? `M${f(mx)} ${f(my)}` : '';
    const c = p[(i + 1) % n] as [number, number];
    const nx = p[(i + 2) % n] as [number, number];
    d += ` Q${f(c[0])} ${f(c[1])} ${f((c[0] + nx[0]) / 2)} ${f((c[1] + nx[1]) / 2)}`;
  }
  return `<path d="${d} Z" fill="${fill}" transform="rotate(${f(rot)} ${f(cx)} ${f(cy)})"/>`;
}

function leaf(x: number, y: number, len: number, width: number, angle: number, fill: string, vein = true): string {
  return `<g transform="translate(${f(x)} ${f(y)}) rotate(${f(angle)})"><path d="M0 0 Q${f(width)} ${f(-len * 0.45)} 0 ${f(-len)} Q${f(-width)} ${f(-len * 0.45)} 0 0 Z" fill="${fill}"/>${vein ? `<path d="M0 -4 L0 ${f(-len * 0.9)}" stroke="${darken(fill, 0.25)}" stroke-width="2" opacity="0.6"/>` : ''}</g>`;
}

/** A shallow basket or bowl that heaped produce can sit in. */
function bowl(width: number, fill: string, woven: boolean): string {
  const w = width / 2;
  let s = `<path d="M${-w} -70 Q${-w + 10} 0 ${-w + 50} 0 H${w - 50} Q${w - 10} 0 ${w} -70 Z" fill="${fill}"/>`;
  if (woven) {
    for (let y = -60; y < 0; y += 14) s += `<path d="M${-w + 8} ${y} H${w - 8}" stroke="${darken(fill, 0.2)}" stroke-width="4" opacity="0.6"/>`;
    for (let x = -w + 30; x < w - 20; x += 26) s += `<path d="M${x} -68 L${x * 0.9} -4" stroke="${darken(fill, 0.28)}" stroke-width="3" opacity="0.45"/>`;
  }
  s += `<rect x="${-w - 6}" y="-78" width="${width + 12}" height="14" rx="7" fill="${darken(fill, 0.12)}"/>`;
  return s;
}

/** Round things heaped in a bowl: potatoes, apples, quinces, sprouts. */
function heap(colours: string[], rx: number, ry: number, opts: { stalk?: string; speck?: string; bowlFill?: string; woven?: boolean } = {}): Motif {
  return (r) => {
    let s = '';
    const rows = [
      { y: -66, n: 3, dx: rx * 1.9 },
      { y: -100, n: 4, dx: rx * 1.8 },
      { y: -138, n: 3, dx: rx * 1.85 },
      { y: -172, n: 2, dx: rx * 1.8 },
    ];
    for (const row of rows.reverse()) {
      for (let i = 0; i < row.n; i++) {
        const cx = (i - (row.n - 1) / 2) * row.dx + between(r, -8, 8);
        const cy = row.y + between(r, -6, 6);
        const c = pick(r, colours);
        s += blob(cx, cy, rx, ry, c, r, between(r, -30, 30));
        s += shine(cx - rx * 0.35, cy - ry * 0.4, rx * 0.28, ry * 0.18);
        if (opts.speck) for (let k = 0; k < 3; k++) s += `<circle cx="${f(cx + between(r, -rx * 0.6, rx * 0.6))}" cy="${f(cy + between(r, -ry * 0.5, ry * 0.5))}" r="${f(between(r, 2, 4))}" fill="${opts.speck}" opacity="0.6"/>`;
        if (opts.stalk) s += `<path d="M${f(cx)} ${f(cy - ry + 4)} q3 -12 8 -16" stroke="${opts.stalk}" stroke-width="4" fill="none" stroke-linecap="round"/>`;
      }
    }
    return s + bowl(rx * 7.6, opts.bowlFill ?? '#b98a56', opts.woven ?? true);
  };
}

/** Tapering roots with leafy tops, fanned out on the table. */
function roots(colour: string, top: string): Motif {
  return (r) => {
    let s = '';
    // Lying on the table, tips to the left and leafy tops to the right, loosely fanned.
    for (let i = 0; i < 5; i++) {
      const len = between(r, 250, 290);
      const x = 80 + between(r, -20, 20);
      const y = -24 - i * 30;
      s += `<g transform="translate(${f(x)} ${y}) rotate(${f(-6 + i * 3 + between(r, -2, 2))})">`;
      for (let k = 0; k < 4; k++) s += leaf(4, 0, between(r, 80, 110), 12, 90 + between(r, -40, 40), top, false);
      s += `<path d="M0 -22 Q${f(-len * 0.5)} -18 ${f(-len)} 0 Q${f(-len * 0.5)} 18 0 22 Q8 0 0 -22 Z" fill="${colour}"/>`;
      for (let k = 1; k < 6; k++) s += `<path d="M${f(-k * len * 0.14)} ${f(-14 + k * 1.5)} v${f(9 - k)}" stroke="${darken(colour, 0.25)}" stroke-width="2" opacity="0.55"/>`;
      s += `<path d="M${f(-len * 0.1)} -10 H${f(-len * 0.6)}" stroke="#fff" stroke-width="4" opacity="0.22" stroke-linecap="round"/>`;
      s += '</g>';
    }
    return s;
  };
}

/** Leeks lying side by side. */
const leeks: Motif = (r) => {
  let s = '';
  for (let i = 0; i < 3; i++) {
    const y = -30 - i * 42;
    const x = -250 + i * 14;
    s += `<g transform="translate(${x} ${y}) rotate(${f(-4 + between(r, -2, 2))})">`;
    s += `<path d="M0 -18 H150 L210 -24 L330 -52 L340 -30 L215 10 L150 18 H0 Q-12 0 0 -18 Z" fill="#3f7a3a"/>`;
    s += `<path d="M150 -18 L220 -8 L335 -40" stroke="#6fa35a" stroke-width="5" fill="none"/>`;
    s += `<rect x="0" y="-18" width="170" height="36" rx="14" fill="url(#leekWhite)"/>`;
    s += `<path d="M-8 -6 l-14 -4 M-8 0 l-16 0 M-8 6 l-14 4" stroke="#c9b98f" stroke-width="3"/>`;
    s += '</g>';
  }
  return s;
};

/** A bunch of crinkled dark leaves tied with string. */
function leafBunch(colour: string, count: number, width: number): Motif {
  return (r) => {
    let s = '';
    for (let i = 0; i < count; i++) {
      const a = -50 + (100 * i) / (count - 1) + between(r, -4, 4);
      s += leaf(0, -20, between(r, 220, 270), width, a, i % 2 ? colour : lighten(colour, 0.12));
    }
    s += `<path d="M-6 -20 L-8 0 M0 -20 L0 0 M6 -20 L8 0" stroke="${lighten(colour, 0.45)}" stroke-width="6"/>`;
    s += `<rect x="-16" y="-52" width="32" height="10" rx="4" fill="#c59b62"/>`;
    return s;
  };
}

/** Sprouts on a tall stalk. */
const sproutStalk: Motif = (r) => {
  let s = `<path d="M-10 0 L-6 -280 L6 -280 L10 0 Z" fill="#b6c58a"/>`;
  for (let y = -260; y < -20; y += 22) {
    for (const side of [-1, 1]) {
      const x = side * between(r, 14, 20);
      s += `<circle cx="${f(x)}" cy="${f(y + (side > 0 ? 11 : 0))}" r="${f(between(r, 13, 16))}" fill="${pick(r, ['#5f8f3e', '#6e9c47', '#557f37'])}"/>`;
      s += shine(x - 4, y - 4 + (side > 0 ? 11 : 0), 4, 3);
    }
  }
  s += leaf(0, -276, 80, 40, -20, '#4f7a36') + leaf(0, -276, 70, 36, 25, '#5f8f3e');
  for (let i = 0; i < 6; i++) s += `<circle cx="${f(90 + (i % 3) * 30)}" cy="${f(-16 - Math.floor(i / 3) * 26)}" r="15" fill="#6e9c47"/>`;
  return s;
};

/** A large round head: cabbage, celeriac. */
function bigRound(colour: string, kind: 'cabbage' | 'celeriac'): Motif {
  return (r) => {
    let s = '';
    if (kind === 'cabbage') {
      s += blob(0, -120, 125, 115, darken(colour, 0.1), r);
      for (let i = 0; i < 5; i++) s += `<path d="M${-110 + i * 10} -120 Q0 ${-250 + i * 24} ${110 - i * 10} -120" stroke="${lighten(colour, 0.35)}" stroke-width="5" fill="none" opacity="0.65"/>`;
      s += `<path d="M0 -10 Q-8 -120 0 -225" stroke="${lighten(colour, 0.5)}" stroke-width="6" fill="none"/>`;
      s += shine(-50, -180, 30, 16);
      s += blob(190, -60, 60, 56, colour, r) + `<path d="M140 -60 H240" stroke="${lighten(colour, 0.4)}" stroke-width="4"/>`;
    } else {
      for (let i = 0; i < 5; i++) s += leaf(-20 + i * 10, -190, between(r, 90, 120), 14, -30 + i * 15, '#5c8a3c');
      s += blob(0, -110, 120, 100, colour, r);
      for (let i = 0; i < 14; i++) s += `<circle cx="${f(between(r, -90, 90))}" cy="${f(between(r, -180, -40))}" r="${f(between(r, 4, 9))}" fill="${darken(colour, 0.2)}" opacity="0.5"/>`;
      for (let i = 0; i < 6; i++) s += `<path d="M${-60 + i * 24} -14 q${f(between(r, -10, 10))} 14 ${f(between(r, -14, 14))} 22" stroke="${darken(colour, 0.3)}" stroke-width="3" fill="none"/>`;
      s += shine(-45, -160, 28, 14);
    }
    return s;
  };
}

/** Two winter squashes. */
const squash: Motif = () => {
  let s = '';
  // Crown Prince: wide, ribbed, blue-grey.
  s += `<ellipse cx="-80" cy="-85" rx="140" ry="85" fill="#8a9ba0"/>`;
  for (let i = -3; i <= 3; i++) {
    const dy = 85 * Math.sqrt(1 - ((i * 38) / 140) ** 2) - 4;
    s += `<path d="M${-80 + i * 30} ${f(-85 - dy)} Q${-80 + i * 44} -85 ${-80 + i * 30} ${f(-85 + dy)}" stroke="#6d7f85" stroke-width="5" fill="none"/>`;
  }
  s += `<path d="M-86 -168 q-4 -26 14 -34" stroke="#6b5a3a" stroke-width="12" fill="none" stroke-linecap="round"/>`;
  s += shine(-140, -130, 36, 16);
  // Uchiki Kuri: teardrop, red-orange.
  s += `<path d="M120 -10 C40 -10 50 -120 120 -180 C190 -120 200 -10 120 -10 Z" fill="#d9632b"/>`;
  for (let i = -1; i <= 1; i++) s += `<path d="M${120 + i * 22} -170 Q${120 + i * 38} -90 ${120 + i * 26} -14" stroke="#b94d1f" stroke-width="4" fill="none"/>`;
  s += `<path d="M120 -178 q2 -20 -10 -30" stroke="#6b5a3a" stroke-width="9" fill="none" stroke-linecap="round"/>`;
  s += shine(96, -120, 14, 24);
  return s;
};

/** A pile of loose salad leaves in a wide bowl. */
const salad: Motif = (r) => {
  let s = '';
  const colours = ['#5f9a3a', '#8bb84f', '#3f7a34', '#9c3d55', '#a6c86a'];
  for (let i = 0; i < 26; i++) s += leaf(between(r, -140, 140), -70 + between(r, -8, 8), between(r, 90, 140), between(r, 24, 40), between(r, -70, 70), pick(r, colours));
  return s + bowl(360, '#e8e2d4', false);
};

/** A wooden crate of mixed vegetables. */
const vegBox: Motif = (r) => {
  let s = '';
  for (let i = 0; i < 4; i++) s += leaf(-110 + i * 18, -170, between(r, 90, 120), 16, -30 + i * 8, '#4f8a3a', false);
  s += `<path d="M-60 -170 q20 -30 10 -80" stroke="#2f5f2a" stroke-width="12" fill="none"/>`;
  s += leaf(60, -170, 130, 40, 10, '#2f4a3a') + leaf(80, -170, 120, 36, 35, '#3a5a45');
  s += blob(-40, -175, 48, 40, '#b5654d', r) + blob(40, -170, 50, 42, '#d9632b', r) + blob(120, -172, 42, 38, '#c9a26a', r) + blob(-130, -168, 40, 34, '#c98a5a', r);
  s += `<rect x="-200" y="-160" width="400" height="160" rx="6" fill="#c49a64"/>`;
  for (let y = -150; y < 0; y += 52) s += `<rect x="-200" y="${y}" width="400" height="40" fill="#b3864f"/>`;
  s += `<rect x="-200" y="-160" width="24" height="160" fill="#9b7443"/><rect x="176" y="-160" width="24" height="160" fill="#9b7443"/>`;
  s += `<rect x="-60" y="-118" width="120" height="40" rx="6" fill="#f7f1e3"/><path d="M-44 -98 h88" stroke="#3f6b35" stroke-width="6"/>`;
  return s;
};

/** A terracotta pot with a herb (or a bushy plant) in it. */
function potPlant(potColour: string, leafColour: string, count: number): Motif {
  return (r) => {
    let s = '';
    const one = (x: number, scale: number, lc: string) => {
      let g = `<g transform="translate(${x} 0) scale(${scale})">`;
      for (let i = 0; i < 9; i++) {
        const a = -60 + i * 15 + between(r, -5, 5);
        const len = between(r, 100, 150);
        g += `<path d="M0 -110 L${f(Math.sin((a * Math.PI) / 180) * len)} ${f(-110 - Math.cos((a * Math.PI) / 180) * len)}" stroke="${darken(lc, 0.3)}" stroke-width="3"/>`;
        for (let k = 1; k < 6; k++) {
          const t = k / 6;
          const px = Math.sin((a * Math.PI) / 180) * len * t;
          const py = -110 - Math.cos((a * Math.PI) / 180) * len * t;
          g += leaf(px, py, 26, 8, a + (k % 2 ? 50 : -50), lc, false);
        }
      }
      g += `<path d="M-70 -110 L-54 0 H54 L70 -110 Z" fill="${potColour}"/><rect x="-80" y="-128" width="160" height="24" rx="5" fill="${darken(potColour, 0.1)}"/>`;
      g += `<path d="M-60 -90 L-50 -10" stroke="#fff" stroke-width="6" opacity="0.18"/></g>`;
      return g;
    };
    if (count === 1) return one(0, 1, leafColour);
    return one(-135, 0.78, '#5c7f4a') + one(135, 0.78, '#7a8f6a') + one(0, 0.9, leafColour);
  };
}

// ---- bakery

function loaf(kind: 'boule' | 'rye' | 'tin' | 'focaccia' | 'stollen'): Motif {
  return (r) => {
    let s = `<rect x="-210" y="-22" width="420" height="22" rx="8" fill="#c89a62"/><rect x="-210" y="-22" width="420" height="6" rx="3" fill="#d9ae77"/>`;
    if (kind === 'boule') {
      s += `<path d="M-170 -22 C-175 -170 175 -170 170 -22 Z" fill="#a8672e"/>`;
      s += `<path d="M-150 -30 C-150 -150 150 -150 150 -30 Z" fill="#c07f3c" opacity="0.7"/>`;
      s += `<path d="M-90 -120 Q0 -165 90 -120" stroke="#e9cf9a" stroke-width="12" fill="none" stroke-linecap="round"/><path d="M-110 -80 Q0 -120 110 -80" stroke="#e9cf9a" stroke-width="10" fill="none" stroke-linecap="round"/>`;
      for (let i = 0; i < 22; i++) s += `<circle cx="${f(between(r, -130, 130))}" cy="${f(between(r, -125, -40))}" r="${f(between(r, 1.5, 3.5))}" fill="#f3e6c8" opacity="0.8"/>`;
    } else if (kind === 'rye') {
      s += `<path d="M-180 -22 C-190 -120 190 -120 180 -22 Z" fill="#5e3b22"/>`;
      for (let i = 0; i < 70; i++) {
        const x = between(r, -150, 150);
        const y = -26 - between(r, 4, 66) * (1 - (x / 175) ** 2);
        s += `<ellipse cx="${f(x)}" cy="${f(y)}" rx="4" ry="2.5" fill="${pick(r, ['#e7d9a8', '#8a9a4a', '#3a2a1a'])}" transform="rotate(${f(between(r, 0, 180))} ${f(x)} ${f(y)})" opacity="0.9"/>`;
      }
      s += `<path d="M-60 -22 v-60 M60 -22 v-60" stroke="#4a2e1a" stroke-width="3" opacity="0.6"/>`;
    } else if (kind === 'tin') {
      s += `<path d="M-140 -22 V-150 Q-140 -230 0 -230 Q140 -230 140 -150 V-22 Z" fill="#b4753a"/>`;
      s += `<path d="M-140 -150 Q-140 -230 0 -230 Q140 -230 140 -150 Z" fill="#8f5627"/>`;
      s += `<path d="M-150 -22 V-140 H150 V-22 Z" fill="#c98c4c" opacity="0.5"/>`;
      s += shine(-60, -200, 40, 10);
    } else if (kind === 'focaccia') {
      s += `<path d="M-190 -22 Q-200 -80 -150 -86 H150 Q200 -80 190 -22 Z" fill="#d9a54e"/>`;
      s += `<path d="M-170 -80 H170" stroke="#e8c074" stroke-width="8" stroke-linecap="round"/>`;
      for (let i = 0; i < 16; i++) s += `<circle cx="${f(-150 + (i % 8) * 43 + between(r, -6, 6))}" cy="${f(-62 + Math.floor(i / 8) * 26)}" r="7" fill="#b98530"/>`;
      for (let i = 0; i < 6; i++) s += leaf(-120 + i * 48, -70, 34, 3, 70 + between(r, -20, 20), '#4f6b3a', false) + leaf(-120 + i * 48, -70, 30, 3, -70 + between(r, -20, 20), '#4f6b3a', false);
      for (let i = 0; i < 20; i++) s += `<rect x="${f(between(r, -160, 160))}" y="${f(between(r, -80, -30))}" width="4" height="4" fill="#fff" opacity="0.9"/>`;
    } else {
      s += `<path d="M-190 -22 C-200 -130 200 -130 190 -22 Z" fill="#c99359"/>`;
      s += `<path d="M-180 -60 C-150 -120 150 -120 180 -60" fill="none" stroke="#f8f5ee" stroke-width="40" stroke-linecap="round" opacity="0.9"/>`;
      for (let i = 0; i < 40; i++) s += `<circle cx="${f(between(r, -170, 170))}" cy="${f(between(r, -110, -40))}" r="${f(between(r, 2, 4))}" fill="#fff"/>`;
      s += `<path d="M190 -22 C200 -70 180 -96 170 -96 L150 -30 Z" fill="#e6d08c"/>`;
      for (let i = 0; i < 6; i++) s += `<circle cx="${f(175 - i * 3)}" cy="${f(-40 - i * 9)}" r="6" fill="#7a2f2f"/>`;
    }
    return s;
  };
}

function smallBakes(kind: 'buns' | 'pies'): Motif {
  return (r) => {
    let s = `<rect x="-210" y="-22" width="420" height="22" rx="8" fill="#c89a62"/>`;
    const spots = [-150, -50, 50, 150];
    for (const [row, y] of [
      [1, -100],
      [0, -40],
    ] as const) {
      for (let i = 0; i < (row ? 3 : 4); i++) {
        const x = row ? spots[i]! + 50 : spots[i]!;
        if (kind === 'buns') {
          s += `<ellipse cx="${x}" cy="${y}" rx="52" ry="40" fill="#b8702f"/>`;
          s += `<path d="M${x - 36} ${y} q18 -28 36 0 q18 28 36 0" stroke="#e6b06a" stroke-width="9" fill="none" stroke-linecap="round"/>`;
          for (let k = 0; k < 7; k++) s += `<rect x="${f(x + between(r, -34, 30))}" y="${f(y + between(r, -26, 14))}" width="5" height="3" fill="#fff" opacity="0.85"/>`;
        } else {
          s += `<path d="M${x - 52} ${y + 8} L${x - 42} ${y + 36} H${x + 42} L${x + 52} ${y + 8} Z" fill="#caa063"/>`;
          s += `<ellipse cx="${x}" cy="${y + 6}" rx="54" ry="18" fill="#e1b774"/>`;
          s += `<ellipse cx="${x}" cy="${y + 4}" rx="40" ry="11" fill="#5a2a1f"/>`;
          const star = Array.from({ length: 10 }, (_, k) => {
            const a = (k * Math.PI) / 5 - Math.PI / 2;
            const rad = k % 2 ? 9 : 22;
            return `${f(x + Math.cos(a) * rad)} ${f(y + 2 + Math.sin(a) * rad * 0.5)}`;
          }).join(' L');
          s += `<path d="M${star} Z" fill="#eac488"/>`;
          for (let k = 0; k < 6; k++) s += `<circle cx="${f(x + between(r, -40, 40))}" cy="${f(y + between(r, -6, 14))}" r="2" fill="#fff"/>`;
        }
      }
    }
    return s;
  };
}

/** A tub or a bowl of soup, steaming. */
const soup: Motif = (r) => {
  let s = '';
  for (let i = 0; i < 3; i++) s += `<path d="M${-50 + i * 50} -200 q-20 -30 0 -60 q20 -30 0 -60" stroke="#fff" stroke-width="9" fill="none" stroke-linecap="round" opacity="0.55"/>`;
  s += `<path d="M-170 -150 Q-170 0 0 0 Q170 0 170 -150 Z" fill="#e7dfd0"/>`;
  s += `<ellipse cx="0" cy="-150" rx="170" ry="34" fill="#d9d0bf"/><ellipse cx="0" cy="-148" rx="152" ry="26" fill="#d98a3a"/>`;
  for (let i = 0; i < 10; i++) s += `<circle cx="${f(between(r, -120, 120))}" cy="${f(between(r, -160, -138))}" r="${f(between(r, 3, 7))}" fill="${pick(r, ['#3f6b35', '#f4e2b8', '#b94d1f'])}"/>`;
  s += `<path d="M-150 -110 Q-140 -40 -80 -26" stroke="#fff" stroke-width="8" fill="none" opacity="0.35"/>`;
  return s;
};

// ---- dairy and eggs

function eggBox(eggColour: string, speck: string | null, count: 6 | 15): Motif {
  return (r) => {
    let s = '';
    if (count === 6) {
      s += `<path d="M-205 -70 L-185 -250 H185 L205 -70 Z" fill="#c9bda3"/><path d="M-182 -86 L-166 -234 H166 L182 -86 Z" fill="#d6cbb3"/>`;
      for (const [row, cy] of [
        [0, -176],
        [1, -104],
      ] as const) {
        for (let i = 0; i < 3; i++) {
          const x = -124 + i * 124;
          s += `<ellipse cx="${x}" cy="${cy}" rx="46" ry="58" fill="${eggColour}"/>` + shine(x - 16, cy - 24, 11, 18);
          if (speck) for (let k = 0; k < 8; k++) s += `<circle cx="${f(x + between(r, -30, 30))}" cy="${f(cy + between(r, -44, 30))}" r="${f(between(r, 1.5, 3))}" fill="${speck}" opacity="0.55"/>`;
          if (row === 0) s += `<path d="M${x - 60} -150 q60 30 120 0 V-120 H${x - 60} Z" fill="#bfb297"/>`;
        }
      }
      s += `<path d="M-210 -70 L-196 0 H196 L210 -70 Z" fill="#cfc4ac"/>`;
      for (let i = 0; i < 3; i++) s += `<path d="M${-182 + i * 124} -70 q58 40 116 0" fill="#c2b699"/>`;
    } else {
      s += `<path d="M-210 -60 L-190 0 H190 L210 -60 Z" fill="#cdbfa4"/>`;
      for (let i = 0; i < 10; i++) {
        const x = -170 + (i % 5) * 85;
        const y = i < 5 ? -110 : -60;
        const c = pick(r, [eggColour, lighten(eggColour, 0.2), darken(eggColour, 0.08)]);
        s += `<ellipse cx="${x}" cy="${y}" rx="${f(between(r, 28, 40))}" ry="${f(between(r, 36, 48))}" fill="${c}"/>` + shine(x - 10, y - 20, 8, 12);
        if (i === 3) s += `<path d="M${x - 10} ${y - 30} l8 14 l-6 10 l10 12" stroke="#8a6a48" stroke-width="2" fill="none"/>`;
      }
    }
    return s;
  };
}

function cheese(wrap: string | null, board = false): Motif {
  return (r) => {
    let s = board ? `<rect x="-230" y="-30" width="460" height="30" rx="12" fill="#a27a4f"/><path d="M-220 -22 H220 M-200 -12 H200" stroke="#8a6440" stroke-width="2" opacity="0.7"/><circle cx="238" cy="-15" r="10" fill="none" stroke="#a27a4f" stroke-width="6"/>` : `<rect x="-210" y="-24" width="420" height="24" rx="8" fill="#8a6a48"/>`;
    // A whole round with a wedge cut out and laid beside it.
    s += `<path d="M-180 -24 V-90 A120 40 0 0 1 60 -90 V-24 A120 40 0 0 1 -180 -24 Z" fill="${wrap ?? '#f4efe2'}"/>`;
    s += `<ellipse cx="-60" cy="-90" rx="120" ry="40" fill="${wrap ? lighten(wrap, 0.2) : '#fbf8f0'}"/>`;
    s += `<path d="M-60 -90 L60 -90 A120 40 0 0 0 20 -124 Z" fill="#f1d98f"/>`;
    s += `<path d="M60 -90 L60 -24 L-60 -24 L-60 -90 Z" fill="none"/>`;
    if (wrap) for (let i = 0; i < 6; i++) s += `<path d="M${-170 + i * 38} -30 q10 -40 0 -80" stroke="${darken(wrap, 0.25)}" stroke-width="3" fill="none"/>`;
    else for (let i = 0; i < 30; i++) s += `<circle cx="${f(between(r, -170, 40))}" cy="${f(between(r, -84, -30))}" r="${f(between(r, 1.5, 3))}" fill="#d6cdb8"/>`;
    // The wedge.
    s += `<path d="M90 -24 L190 -24 L190 -80 L90 -80 Z" fill="#f3d57e"/><path d="M90 -80 L190 -80 L205 -96 L120 -110 Z" fill="${wrap ? lighten(wrap, 0.2) : '#fbf8f0'}"/><path d="M190 -24 L205 -40 L205 -96 L190 -80 Z" fill="${wrap ?? '#ece5d4'}"/>`;
    s += `<path d="M100 -60 q40 10 80 0" stroke="#e6c35f" stroke-width="4" fill="none"/>`;
    if (board) {
      s += leaf(-150, -40, 70, 24, -70, '#2f5a34') + leaf(-150, -40, 64, 22, -110, '#3f6b3a');
      for (const [x, y] of [
        [-160, -46],
        [-146, -52],
        [-152, -36],
      ] as const) s += `<circle cx="${x}" cy="${y}" r="8" fill="#b8262e"/>`;
    }
    return s;
  };
}

const butter: Motif = () => {
  let s = `<path d="M-190 -10 L-150 -50 H190 L170 -10 Z" fill="#f1ece0"/>`;
  s += `<path d="M-130 -30 V-120 L-70 -150 H130 V-60 L70 -30 Z" fill="#f2cf5b"/>`;
  s += `<path d="M-130 -120 L-70 -150 H130 L70 -120 Z" fill="#f7dc7a"/><path d="M70 -120 H-130 V-30 H70 Z" fill="#e9c146"/>`;
  s += `<path d="M-110 -100 q40 -10 80 0 q40 10 80 0" stroke="#d8ad30" stroke-width="4" fill="none"/>`;
  s += `<path d="M110 -20 l80 -120" stroke="#8b8f94" stroke-width="8" stroke-linecap="round"/><path d="M160 -95 l40 -60" stroke="#a07a4f" stroke-width="16" stroke-linecap="round"/>`;
  return s;
};

/** Glass jars: honey, jam, cream, yoghurt, dried mushrooms. */
function jars(fill: string, lid: string, count: 1 | 2 | 3, opts: { label?: string; chunks?: string[]; tall?: boolean } = {}): Motif {
  return (r) => {
    let s = '';
    const xs = count === 1 ? [0] : count === 2 ? [-85, 85] : [-140, 0, 140];
    xs.forEach((x, i) => {
      const h = opts.tall ? 220 : i === 1 && count === 3 ? 200 : 170;
      const w = 60;
      s += `<rect x="${x - w}" y="${-h}" width="${w * 2}" height="${h}" rx="18" fill="${fill}"/>`;
      if (opts.chunks) for (let k = 0; k < 22; k++) s += blob(x + between(r, -44, 44), -between(r, 20, h - 30), between(r, 8, 16), between(r, 6, 11), pick(r, opts.chunks), r, between(r, 0, 90));
      s += `<rect x="${x - w + 8}" y="${-h + 14}" width="14" height="${h - 40}" rx="7" fill="#fff" opacity="0.35"/>`;
      s += `<rect x="${x - w - 4}" y="${-h - 34}" width="${w * 2 + 8}" height="38" rx="8" fill="${lid}"/>`;
      s += `<rect x="${x - w + 4}" y="${-h - 18}" width="${w * 2 - 8}" height="6" fill="${darken(lid, 0.2)}" opacity="0.5"/>`;
      if (opts.label) {
        s += `<rect x="${x - w + 14}" y="${-h * 0.62}" width="${w * 2 - 28}" height="${h * 0.34}" rx="6" fill="${opts.label}"/>`;
        s += `<path d="M${x - 30} ${f(-h * 0.5)} h60 M${x - 22} ${f(-h * 0.4)} h44" stroke="${darken(opts.label, 0.5)}" stroke-width="5" stroke-linecap="round" opacity="0.7"/>`;
      }
    });
    return s;
  };
}

// ---- meat

const joint = (kind: 'leg' | 'shoulder'): Motif => (r) => {
  let s = `<ellipse cx="0" cy="-16" rx="215" ry="26" fill="#d8d3c8"/><ellipse cx="0" cy="-22" rx="200" ry="22" fill="#eeeae2"/>`;
  if (kind === 'leg') {
    s += `<path d="M-170 -40 C-190 -170 40 -200 90 -110 L170 -80 L170 -60 L90 -40 Z" fill="#c9595a"/>`;
    s += `<path d="M-170 -40 C-190 -170 40 -200 90 -110" stroke="#f1e0cc" stroke-width="18" fill="none"/>`;
    s += `<rect x="150" y="-92" width="40" height="36" rx="14" fill="#f3ecdf"/><circle cx="196" cy="-80" r="16" fill="#f3ecdf"/><circle cx="196" cy="-62" r="14" fill="#f3ecdf"/>`;
  } else {
    s += `<path d="M-180 -40 C-200 -150 -60 -180 40 -160 C150 -150 190 -100 180 -40 Z" fill="#c45a55"/>`;
    s += `<path d="M-160 -70 C-120 -150 80 -160 160 -80" stroke="#f1e0cc" stroke-width="14" fill="none" opacity="0.9"/>`;
    s += `<path d="M-60 -40 L40 -130" stroke="#f3ecdf" stroke-width="10" opacity="0.8"/>`;
  }
  for (let i = 0; i < 6; i++) s += leaf(between(r, -140, 120), -150 - between(r, 0, 20), 30, 5, between(r, -60, 60), '#3f5f35', false);
  s += `<path d="M-140 -150 L120 -160" stroke="#3f5f35" stroke-width="3"/>`;
  return s;
};

const chops: Motif = (r) => {
  let s = `<rect x="-210" y="-28" width="420" height="28" rx="10" fill="#6b6f73"/><rect x="-210" y="-28" width="420" height="8" rx="4" fill="#80858a"/>`;
  for (let i = 0; i < 4; i++) {
    const x = -150 + i * 100;
    s += `<g transform="translate(${x} -110) rotate(${f(-12 + between(r, -4, 4))})"><path d="M-40 -50 C20 -70 60 -20 40 30 C30 60 -40 60 -50 20 C-60 -10 -60 -40 -40 -50 Z" fill="#c75b5b"/><path d="M-40 -50 C20 -70 60 -20 40 30" stroke="#f1e0cc" stroke-width="12" fill="none"/><rect x="-10" y="30" width="14" height="60" rx="6" fill="#f3ecdf"/></g>`;
  }
  return s;
};

const minceTray: Motif = (r) => {
  let s = `<path d="M-200 -100 L-180 0 H180 L200 -100 Z" fill="#2f3236"/><rect x="-206" y="-108" width="412" height="14" rx="6" fill="#45494e"/>`;
  for (let i = 0; i < 130; i++) s += `<circle cx="${f(between(r, -180, 180))}" cy="${f(between(r, -124, -96))}" r="${f(between(r, 6, 12))}" fill="${pick(r, ['#c45a55', '#b44d4a', '#d9827a', '#e3c7b5'])}"/>`;
  s += `<rect x="-70" y="-70" width="140" height="46" rx="4" fill="#f7f1e3"/><path d="M-50 -52 h100 M-50 -38 h60" stroke="#8a2c2c" stroke-width="5"/>`;
  return s;
};

const diced: Motif = (r) => {
  let s = `<rect x="-210" y="-24" width="420" height="24" rx="8" fill="#8d6c4a"/>`;
  for (let i = 0; i < 18; i++) {
    const x = -160 + (i % 6) * 62 + between(r, -8, 8);
    const y = -60 - Math.floor(i / 6) * 42 + between(r, -4, 4);
    s += `<g transform="translate(${f(x)} ${f(y)}) rotate(${f(between(r, -20, 20))})"><rect x="-26" y="-22" width="52" height="44" rx="8" fill="#a9403f"/><rect x="-26" y="-22" width="52" height="12" rx="6" fill="#c45a55"/><path d="M-20 6 q20 -10 40 0" stroke="#f1e0cc" stroke-width="4" fill="none" opacity="0.8"/></g>`;
  }
  return s;
};

const sausages: Motif = (r) => {
  let s = `<rect x="-210" y="-24" width="420" height="24" rx="8" fill="#8d6c4a"/>`;
  let d = 'M-200 -80';
  for (let i = 0; i < 3; i++) {
    const y = -60 - i * 50;
    s += `<g>`;
    for (let k = 0; k < 3; k++) {
      const x = -140 + k * 130 + (i % 2) * 20;
      s += `<rect x="${x - 60}" y="${y - 22}" width="120" height="44" rx="22" fill="${pick(r, ['#c98866', '#bf7b5a', '#d0906c'])}"/>`;
      s += `<path d="M${x - 40} ${y - 10} h60" stroke="#fff" stroke-width="6" opacity="0.3" stroke-linecap="round"/>`;
      d += ` M${x + 60} ${y} h10`;
    }
    s += `</g>`;
  }
  s += `<path d="${d}" stroke="#e6d3b0" stroke-width="5"/>`;
  s += leaf(170, -170, 70, 10, 30, '#3f5f35', false) + leaf(170, -170, 60, 10, -10, '#3f5f35', false);
  return s;
};

const turkey: Motif = () => {
  let s = `<ellipse cx="0" cy="-16" rx="215" ry="26" fill="#d8d3c8"/><ellipse cx="0" cy="-22" rx="200" ry="22" fill="#eeeae2"/>`;
  s += `<path d="M-160 -40 C-190 -200 160 -220 170 -60 Q150 -30 -160 -40 Z" fill="#d6a46a"/>`;
  s += `<path d="M-120 -60 C-120 -170 120 -180 130 -70" stroke="#e9c08c" stroke-width="12" fill="none" opacity="0.7"/>`;
  s += `<path d="M140 -70 C200 -90 220 -150 190 -170 C170 -120 150 -110 130 -100 Z" fill="#c99050"/><circle cx="192" cy="-172" r="14" fill="#f3ecdf"/>`;
  s += `<path d="M-150 -60 C-210 -80 -220 -140 -190 -160 C-170 -120 -150 -110 -130 -100 Z" fill="#c99050"/><circle cx="-190" cy="-162" r="14" fill="#f3ecdf"/>`;
  s += `<path d="M-40 -120 q40 -20 80 0" stroke="#fff" stroke-width="10" opacity="0.3" fill="none"/>`;
  return s;
};

const parcel: Motif = () => {
  let s = '';
  for (const [x, y, w, h] of [
    [-190, -150, 220, 150],
    [20, -110, 180, 110],
    [-120, -250, 170, 100],
  ] as const) {
    s += `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="#d9c4a0"/><rect x="${x}" y="${y}" width="${w}" height="${h * 0.25}" fill="#cdb48a"/>`;
    s += `<path d="M${x + w / 2} ${y} v${h} M${x} ${y + h / 2} h${w}" stroke="#8a6a48" stroke-width="4"/>`;
    s += `<rect x="${x + w / 2 - 34}" y="${y + h / 2 - 18}" width="68" height="36" rx="3" fill="#f7f1e3"/><path d="M${x + w / 2 - 22} ${y + h / 2 - 4} h44 M${x + w / 2 - 22} ${y + h / 2 + 8} h30" stroke="#8a2c2c" stroke-width="4"/>`;
  }
  return s;
};

// ---- drinks

function bottles(liquid: string, count: 1 | 2 | 3, label: string, glass = '#2f4a2a'): Motif {
  return () => {
    let s = '';
    const xs = count === 1 ? [0] : count === 2 ? [-80, 80] : [-140, 0, 140];
    xs.forEach((x, i) => {
      const h = i === 1 && count === 3 ? 290 : 260;
      s += `<path d="M${x - 50} 0 V${-h + 120} Q${x - 50} ${-h + 80} ${x - 18} ${-h + 60} V${-h} H${x + 18} V${-h + 60} Q${x + 50} ${-h + 80} ${x + 50} ${-h + 120} V0 Z" fill="${glass}"/>`;
      s += `<path d="M${x - 46} -4 V${-h + 140} H${x + 46} V-4 Z" fill="${liquid}" opacity="0.85"/>`;
      s += `<rect x="${x - 20}" y="${-h - 14}" width="40" height="20" rx="4" fill="#c9b27a"/>`;
      s += `<rect x="${x - 50}" y="${-h + 150}" width="100" height="80" fill="${label}"/><path d="M${x - 30} ${-h + 180} h60 M${x - 22} ${-h + 200} h44" stroke="${darken(label, 0.55)}" stroke-width="5" stroke-linecap="round"/>`;
      s += `<rect x="${x - 38}" y="${-h + 110}" width="10" height="${h - 130}" rx="5" fill="#fff" opacity="0.22"/>`;
    });
    return s;
  };
}

// ---- fruit

const strawberries: Motif = (r) => {
  let s = '';
  for (let i = 0; i < 14; i++) {
    const x = between(r, -110, 110);
    const y = -120 + between(r, -20, 20) - (i > 8 ? 24 : 0);
    s += `<path d="M${f(x - 26)} ${f(y - 8)} Q${f(x)} ${f(y + 50)} ${f(x + 26)} ${f(y - 8)} Q${f(x)} ${f(y - 24)} ${f(x - 26)} ${f(y - 8)} Z" fill="${pick(r, ['#c8282f', '#d9363a', '#b82229'])}"/>`;
    for (let k = 0; k < 5; k++) s += `<circle cx="${f(x + between(r, -14, 14))}" cy="${f(y + between(r, -2, 18))}" r="1.6" fill="#f3d36b"/>`;
    s += `<path d="M${f(x - 14)} ${f(y - 12)} l8 6 l6 -10 l6 10 l8 -6" stroke="#3f7a34" stroke-width="5" fill="none" stroke-linejoin="round"/>`;
  }
  s += `<path d="M-150 -110 L-130 0 H130 L150 -110 Z" fill="#e9e2d0"/>`;
  for (let x = -140; x < 150; x += 20) s += `<path d="M${x} -110 L${x * 0.88} 0" stroke="#d5ccb5" stroke-width="3"/>`;
  return s;
};

const berries: Motif = (r) => {
  let s = '';
  for (let i = 0; i < 34; i++) {
    const x = between(r, -150, 150);
    const y = -100 - between(r, 0, 50) * (1 - Math.abs(x) / 200);
    s += `<circle cx="${f(x)}" cy="${f(y)}" r="17" fill="${pick(r, ['#b8263f', '#c93550', '#a61f38'])}"/>`;
    for (let k = 0; k < 4; k++) s += `<circle cx="${f(x + between(r, -9, 9))}" cy="${f(y + between(r, -9, 9))}" r="4" fill="#e05a70" opacity="0.6"/>`;
  }
  for (let i = 0; i < 30; i++) s += `<circle cx="${f(between(r, -160, 160))}" cy="${f(between(r, -150, -60))}" r="2" fill="#fff" opacity="0.9"/>`;
  return s + bowl(360, '#ece8e1', false);
};

function pears(colour: string): Motif {
  return (r) => {
    let s = '';
    const xs = [-120, 0, 120, -60, 60];
    xs.forEach((x, i) => {
      const y = i < 3 ? -70 : -130;
      const c = i % 2 ? colour : darken(colour, 0.08);
      s += `<g transform="translate(${x} ${y}) rotate(${f(between(r, -12, 12))})"><path d="M0 -110 C26 -110 24 -60 40 -30 C70 20 40 60 0 60 C-40 60 -70 20 -40 -30 C-24 -60 -26 -110 0 -110 Z" fill="${c}"/>`;
      s += `<path d="M0 -108 q4 -20 14 -26" stroke="#5a3f24" stroke-width="5" fill="none"/>`;
      for (let k = 0; k < 8; k++) s += `<circle cx="${f(between(r, -34, 34))}" cy="${f(between(r, -20, 50))}" r="2" fill="#8a6a3a" opacity="0.5"/>`;
      s += shine(-16, -10, 8, 18) + '</g>';
    });
    return s;
  };
}

// ---- honey and wax

const comb: Motif = (r) => {
  let s = `<rect x="-180" y="-240" width="360" height="240" rx="8" fill="#d9b98a"/><rect x="-160" y="-220" width="320" height="200" fill="#e8a81f"/>`;
  const R = 16;
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 11; col++) {
      const cx = -148 + col * R * 1.75 + (row % 2) * R * 0.87;
      const cy = -206 + row * R * 1.5 + 6;
      if (cx > 150) continue;
      const pts = Array.from({ length: 6 }, (_, k) => {
        const a = (Math.PI / 3) * k + Math.PI / 6;
        return `${f(cx + Math.cos(a) * R * 0.92)} ${f(cy + Math.sin(a) * R * 0.92)}`;
      }).join(' L');
      s += `<path d="M${pts} Z" fill="${r() < 0.8 ? '#f4c542' : '#f7d774'}" stroke="#c98a14" stroke-width="2"/>`;
    }
  }
  s += `<path d="M150 -30 L190 -14 L150 0 Z" fill="#e8a81f" opacity="0.85"/>`;
  return s;
};

function candles(colour: string, style: 'dinner' | 'pillar' | 'tin'): Motif {
  const flame = (x: number, y: number) => `<path d="M${x} ${y - 44} Q${x + 14} ${y - 16} ${x} ${y - 4} Q${x - 14} ${y - 16} ${x} ${y - 44} Z" fill="#f7b733"/><path d="M${x} ${y - 30} Q${x + 6} ${y - 14} ${x} ${y - 6} Q${x - 6} ${y - 14} ${x} ${y - 30} Z" fill="#fff3c4"/><circle cx="${x}" cy="${y - 22}" r="46" fill="#ffe7a0" opacity="0.25"/>`;
  return () => {
    let s = '';
    if (style === 'dinner') {
      for (const x of [-50, 50]) {
        s += `<rect x="${x - 16}" y="-270" width="32" height="250" rx="6" fill="${colour}"/><rect x="${x - 10}" y="-262" width="6" height="230" fill="#fff" opacity="0.25"/>${flame(x, -270)}`;
        s += `<ellipse cx="${x}" cy="-18" rx="56" ry="14" fill="#b08d57"/><rect x="${x - 24}" y="-34" width="48" height="18" rx="4" fill="#b08d57"/>`;
      }
    } else if (style === 'pillar') {
      s += `<rect x="-80" y="-200" width="160" height="200" rx="12" fill="${colour}"/><rect x="-60" y="-190" width="16" height="180" rx="8" fill="#fff" opacity="0.2"/>${flame(0, -200)}`;
      s += `<rect x="100" y="-120" width="90" height="120" rx="10" fill="${darken(colour, 0.06)}"/>${flame(145, -120)}`;
    } else {
      s += `<rect x="-140" y="-120" width="280" height="120" rx="14" fill="#a9aeb2"/><rect x="-140" y="-120" width="280" height="24" rx="10" fill="#c8ccd0"/>`;
      s += `<rect x="-90" y="-86" width="180" height="60" rx="6" fill="${colour}"/><path d="M-60 -62 h120 M-40 -44 h80" stroke="${darken(colour, 0.5)}" stroke-width="5"/>${flame(0, -120)}`;
    }
    return s;
  };
}

const polishTin: Motif = () => {
  let s = `<ellipse cx="-40" cy="-20" rx="150" ry="34" fill="#9aa0a5"/><rect x="-190" y="-100" width="300" height="80" fill="#b7bcc0"/><ellipse cx="-40" cy="-100" rx="150" ry="34" fill="#d0d4d7"/>`;
  s += `<ellipse cx="-40" cy="-100" rx="112" ry="24" fill="#e6b94a"/><path d="M-100 -100 q60 -16 120 0" stroke="#f4d47a" stroke-width="6" fill="none"/>`;
  s += `<path d="M-150 -70 h220" stroke="#6b4f7a" stroke-width="12" opacity="0.6"/>`;
  s += `<path d="M140 -10 Q190 -40 200 -110 Q150 -60 120 -40 Z" fill="#f1ece0"/><path d="M140 -10 Q175 -30 190 -80" stroke="#d8cfbd" stroke-width="3" fill="none"/>`;
  return s;
};

// ---- mushrooms

function mushrooms(kind: 'oyster' | 'lions-mane' | 'shiitake' | 'mixed'): Motif {
  return (r) => {
    let s = `<rect x="-210" y="-24" width="420" height="24" rx="8" fill="#7a5a3c"/>`;
    const oyster = (x: number, y: number, sc: number, c: string) => `<g transform="translate(${f(x)} ${f(y)}) scale(${f(sc)})"><path d="M-10 0 Q-6 -40 -50 -70 Q0 -100 60 -70 Q20 -40 10 0 Z" fill="${c}"/>${Array.from({ length: 6 }, (_, k) => `<path d="M0 -6 L${-40 + k * 18} -70" stroke="${darken(c, 0.2)}" stroke-width="2" opacity="0.6"/>`).join('')}</g>`;
    const lion = (x: number, y: number, sc: number) => {
      let g = `<g transform="translate(${f(x)} ${f(y)}) scale(${f(sc)})"><path d="M-70 0 C-90 -120 90 -120 70 0 Z" fill="#f3ede0"/>`;
      for (let k = 0; k < 26; k++) {
        const px = between(r, -70, 70);
        const py = between(r, -80, -6);
        g += `<path d="M${f(px)} ${f(py)} v14" stroke="#dcd2bd" stroke-width="3" stroke-linecap="round"/>`;
      }
      return g + '</g>';
    };
    const shii = (x: number, y: number, sc: number) => `<g transform="translate(${f(x)} ${f(y)}) scale(${f(sc)})"><rect x="-12" y="-50" width="24" height="50" rx="8" fill="#efe6d2"/><path d="M-60 -46 Q-58 -100 0 -104 Q58 -100 60 -46 Q0 -34 -60 -46 Z" fill="#7a4a2a"/>${Array.from({ length: 5 }, () => `<circle cx="${f(between(r, -40, 40))}" cy="${f(between(r, -92, -56))}" r="${f(between(r, 3, 6))}" fill="#c9a27a" opacity="0.8"/>`).join('')}</g>`;
    if (kind === 'oyster') {
      for (let i = 0; i < 7; i++) s += oyster(-150 + i * 50 + between(r, -10, 10), -24 - (i % 2) * 30, between(r, 1.1, 1.6), pick(r, ['#a9a49a', '#8f8a80', '#e8c94a', '#f0d870']));
    } else if (kind === 'lions-mane') {
      s += lion(-70, -24, 1.5) + lion(100, -24, 1.0);
    } else if (kind === 'shiitake') {
      for (let i = 0; i < 5; i++) s += shii(-160 + i * 80, -24 - (i % 2) * 16, between(r, 1.1, 1.4));
    } else {
      s += lion(-110, -24, 1.0) + oyster(30, -30, 1.4, '#a9a49a') + oyster(80, -24, 1.2, '#e8c94a') + shii(160, -24, 1.1) + shii(-10, -24, 0.9);
    }
    return s;
  };
}

const growKit: Motif = (r) => {
  let s = `<path d="M-110 0 L-120 -200 Q-120 -230 -90 -240 H90 Q120 -230 120 -200 L110 0 Z" fill="#d8cdb4"/>`;
  s += `<path d="M-100 -230 H100" stroke="#b8aa8c" stroke-width="6"/>`;
  for (let i = 0; i < 40; i++) s += `<circle cx="${f(between(r, -100, 100))}" cy="${f(between(r, -210, -10))}" r="${f(between(r, 2, 4))}" fill="#f7f3ea" opacity="0.8"/>`;
  s += `<path d="M-20 -140 L20 -100 M20 -140 L-20 -100" stroke="#8a7a5a" stroke-width="4"/>`;
  for (let i = 0; i < 6; i++) {
    const c = i % 2 ? '#a9a49a' : '#c2bdb2';
    s += `<g transform="translate(${-10 + i * 12} ${-120 - i * 6}) rotate(${-40 + i * 18}) scale(1.1)"><path d="M-6 0 Q-4 -30 -40 -54 Q0 -80 48 -54 Q16 -30 6 0 Z" fill="${c}"/></g>`;
  }
  s += `<rect x="150" y="-90" width="24" height="90" rx="8" fill="#4d6a80"/><rect x="146" y="-110" width="32" height="24" rx="4" fill="#2b2f36"/><path d="M178 -100 l28 -6" stroke="#2b2f36" stroke-width="6"/>`;
  return s;
};

// ---- willow and pots

function basket(kind: 'log' | 'shopping'): Motif {
  return (r) => {
    const colours = ['#8a5a3a', '#b08456', '#6e4a34', '#c49a6a'];
    let s = '';
    if (kind === 'log') {
      for (let i = 0; i < 5; i++) s += `<g transform="translate(${-120 + i * 60} -190)"><ellipse cx="0" cy="0" rx="${f(between(r, 24, 30))}" ry="${f(between(r, 22, 28))}" fill="#c9a173"/><circle cx="0" cy="0" r="10" fill="none" stroke="#a07a4f" stroke-width="3"/></g>`;
      s += `<path d="M-200 -190 L-180 0 H180 L200 -190 Z" fill="#9c6b43"/>`;
      for (let y = -176; y < 0; y += 14) s += `<path d="M${-198 + (y + 190) * 0.1} ${y} H${198 - (y + 190) * 0.1}" stroke="${pick(r, colours)}" stroke-width="10" stroke-linecap="round"/>`;
      for (let x = -170; x <= 170; x += 34) s += `<path d="M${x} -190 L${x * 0.9} 0" stroke="#5a3a24" stroke-width="4" opacity="0.6"/>`;
      s += `<path d="M-206 -196 H206" stroke="#6e4a34" stroke-width="16" stroke-linecap="round"/>`;
      s += `<path d="M-200 -150 q-30 0 -30 -30" stroke="#6e4a34" stroke-width="12" fill="none"/><path d="M200 -150 q30 0 30 -30" stroke="#6e4a34" stroke-width="12" fill="none"/>`;
    } else {
      s += `<path d="M-140 -130 Q0 -360 140 -130" stroke="#7a5234" stroke-width="18" fill="none"/><path d="M-140 -130 Q0 -360 140 -130" stroke="#a07a4f" stroke-width="6" fill="none" stroke-dasharray="14 10"/>`;
      s += `<path d="M-170 -130 Q-170 0 0 0 Q170 0 170 -130 Z" fill="#a87a4e"/>`;
      for (let y = -120; y < -6; y += 13) {
        const half = 170 * Math.sqrt(Math.max(0, 1 - ((y + 130) / 130) ** 2));
        s += `<path d="M${f(-half + 6)} ${y} H${f(half - 6)}" stroke="${pick(r, colours)}" stroke-width="9" stroke-linecap="round"/>`;
      }
      s += `<path d="M-176 -134 H176" stroke="#6e4a34" stroke-width="14" stroke-linecap="round"/>`;
    }
    return s;
  };
}

const obelisk: Motif = (r) => {
  let s = '';
  for (const x of [-120, -40, 40, 120]) s += `<path d="M${x} 0 L${x * 0.12} -300" stroke="#6e4a34" stroke-width="10" stroke-linecap="round"/>`;
  for (let y = -40; y > -290; y -= 36) {
    const half = 120 * (1 - -y / 340);
    s += `<path d="M${f(-half - 6)} ${y} Q0 ${y + 12} ${f(half + 6)} ${y}" stroke="${pick(r, ['#8a5a3a', '#b08456', '#5e3e2a'])}" stroke-width="8" fill="none" stroke-linecap="round"/>`;
  }
  s += `<circle cx="0" cy="-304" r="14" fill="#8a5a3a"/>`;
  s += `<path d="M-210 -6 Q0 -20 210 -6" stroke="#6a4a30" stroke-width="12" fill="none"/>`;
  for (let i = 0; i < 7; i++) s += leaf(130 + between(r, -20, 40), -20, between(r, 40, 70), 16, between(r, -50, 50), '#5c8a3c', false);
  return s;
};

const wreath: Motif = (r) => {
  let s = '';
  const cx = 0;
  const cy = -150;
  for (let i = 0; i < 44; i++) {
    const a = (i / 44) * Math.PI * 2;
    const rad = 112 + between(r, -10, 10);
    s += leaf(cx + Math.cos(a) * rad, cy + Math.sin(a) * rad, between(r, 44, 60), 18, (a * 180) / Math.PI + between(r, 40, 140), pick(r, ['#2f5a34', '#3f6b3a', '#4f7a3f', '#6b8a4a']), false);
  }
  for (let i = 0; i < 14; i++) {
    const a = between(r, 0, Math.PI * 2);
    s += `<circle cx="${f(cx + Math.cos(a) * 112)}" cy="${f(cy + Math.sin(a) * 112)}" r="8" fill="#b8262e"/>`;
  }
  for (let i = 0; i < 5; i++) {
    const a = (i / 5) * Math.PI * 2 + 0.3;
    s += `<circle cx="${f(cx + Math.cos(a) * 118)}" cy="${f(cy + Math.sin(a) * 118)}" r="16" fill="#c9a6b4" opacity="0.9"/>`;
  }
  s += `<path d="M-10 -40 L-60 -10 L-50 20 Z M10 -40 L60 -10 L50 20 Z" fill="#c2a06a"/><path d="M0 -38 L-70 -70 L-60 -20 Z M0 -38 L70 -70 L60 -20 Z" fill="#b08e5a"/><circle cx="0" cy="-38" r="14" fill="#a07e4a"/>`;
  return s;
};

const stars: Motif = (r) => {
  let s = `<path d="M-140 -300 V-230 M0 -300 V-190 M140 -300 V-250" stroke="#b8a37a" stroke-width="3"/>`;
  for (const [x, y, rad] of [
    [-140, -160, 70],
    [0, -110, 80],
    [140, -180, 66],
  ] as const) {
    const pts = Array.from({ length: 10 }, (_, k) => {
      const a = (k * Math.PI) / 5 - Math.PI / 2;
      const rr = k % 2 ? rad * 0.42 : rad;
      return `${f(x + Math.cos(a) * rr)} ${f(y + Math.sin(a) * rr)}`;
    }).join(' L');
    s += `<path d="M${pts} Z" fill="none" stroke="${pick(r, ['#6e3a5a', '#7a8a3a'])}" stroke-width="12" stroke-linejoin="round"/>`;
    s += `<path d="M${pts} Z" fill="none" stroke="${pick(r, ['#8a5a3a', '#b08456'])}" stroke-width="4" stroke-linejoin="round" stroke-dasharray="18 8"/>`;
  }
  return s;
};

function pottery(kind: 'mug' | 'bowl' | 'jug' | 'butter-dish' | 'egg-cups' | 'planter', glaze: string): Motif {
  return (r) => {
    const speckle = (x0: number, x1: number, y0: number, y1: number, n: number) => Array.from({ length: n }, () => `<circle cx="${f(between(r, x0, x1))}" cy="${f(between(r, y0, y1))}" r="${f(between(r, 1.2, 2.8))}" fill="#6b4a34" opacity="0.7"/>`).join('');
    let s = '';
    if (kind === 'mug') {
      s += `<path d="M80 -170 q90 0 90 70 q0 70 -90 60" stroke="${glaze}" stroke-width="26" fill="none"/>`;
      s += `<path d="M-100 -200 V-20 Q-100 0 -80 0 H80 Q100 0 100 -20 V-200 Z" fill="${glaze}"/><ellipse cx="0" cy="-200" rx="100" ry="20" fill="${darken(glaze, 0.3)}"/>`;
      s += `<path d="M-100 -26 H100" stroke="#c9a27a" stroke-width="10"/>` + speckle(-94, 94, -190, -34, 60);
      s += `<rect x="-80" y="-186" width="18" height="150" rx="9" fill="#fff" opacity="0.2"/>`;
    } else if (kind === 'bowl') {
      s += `<path d="M-200 -140 Q-180 0 -60 0 H60 Q180 0 200 -140 Z" fill="${glaze}"/><ellipse cx="0" cy="-140" rx="200" ry="32" fill="${darken(glaze, 0.2)}"/><ellipse cx="0" cy="-136" rx="176" ry="22" fill="#e9dcc0"/>`;
      for (let i = 0; i < 40; i++) s += `<circle cx="${f(between(r, -150, 150))}" cy="${f(between(r, -146, -128))}" r="5" fill="#d9c08a"/>`;
      s += speckle(-180, 180, -120, -16, 70) + `<path d="M-70 0 H70" stroke="#c9a27a" stroke-width="8"/>`;
    } else if (kind === 'jug') {
      s += `<path d="M70 -200 q100 10 80 90 q-16 60 -80 60" stroke="${glaze}" stroke-width="24" fill="none"/>`;
      s += `<path d="M-80 -230 L-110 -250 L-70 -244 Q-60 -180 -100 -120 Q-130 -40 -80 0 H80 Q130 -40 100 -120 Q60 -180 70 -240 Z" fill="${glaze}"/>`;
      s += speckle(-100, 100, -220, -20, 70) + `<path d="M-60 -230 H60" stroke="${darken(glaze, 0.25)}" stroke-width="10"/>`;
    } else if (kind === 'butter-dish') {
      s += `<ellipse cx="0" cy="-18" rx="200" ry="22" fill="${darken(glaze, 0.1)}"/>`;
      s += `<path d="M-160 -30 V-120 Q-160 -150 -130 -150 H130 Q160 -150 160 -120 V-30 Z" fill="${glaze}"/>`;
      s += `<rect x="-30" y="-190" width="60" height="44" rx="20" fill="${darken(glaze, 0.05)}"/>` + speckle(-150, 150, -140, -40, 70);
      s += `<path d="M-170 -30 H170" stroke="#c9a27a" stroke-width="8"/>`;
    } else if (kind === 'egg-cups') {
      for (const x of [-90, 90]) {
        s += `<ellipse cx="${x}" cy="-180" rx="46" ry="58" fill="#f0e2c6"/>` + shine(x - 14, -200, 10, 16);
        s += `<path d="M${x - 62} -150 Q${x - 60} -70 ${x} -70 Q${x + 60} -70 ${x + 62} -150 Z" fill="${glaze}"/><rect x="${x - 14}" y="-74" width="28" height="50" fill="${glaze}"/><ellipse cx="${x}" cy="-16" rx="56" ry="16" fill="${darken(glaze, 0.08)}"/>`;
        s += speckle(x - 50, x + 50, -146, -80, 22);
      }
    } else {
      s += potPlant(glaze, '#5c8a3c', 1)(r, fallbackPalette);
      s += speckle(-60, 60, -100, -10, 40);
      s += `<ellipse cx="0" cy="-6" rx="100" ry="12" fill="${darken(glaze, 0.12)}"/>`;
    }
    return s;
  };
}

/** Choose a motif from the product's slug and category. First match wins. */
function motifFor(slug: string, category: string): Motif {
  const has = (...words: string[]) => words.some((w) => slug.includes(w));
  const oat = '#e4d3b0';
  if (category === 'crafts' || has('butter-dish', 'egg-cups', 'planter')) {
    if (has('mug')) return pottery('mug', has('blue') ? '#5f7f96' : oat);
    if (has('bowl')) return pottery('bowl', oat);
    if (has('jug')) return pottery('jug', '#6f8fa6');
    if (has('butter-dish')) return pottery('butter-dish', oat);
    if (has('egg-cups')) return pottery('egg-cups', oat);
    if (has('planter')) return pottery('planter', '#9fb3bf');
    if (has('shopping-basket')) return basket('shopping');
    if (has('star')) return stars;
    return pottery('mug', oat);
  }
  if (has('potato')) return heap(['#b5654d', '#c47358', '#a85a44'], 44, 34, { speck: '#6b3a2a' });
  if (has('carrot')) return roots('#e67e22', '#4f8a3a');
  if (has('parsnip')) return roots('#e8dcb5', '#5f8f3e');
  if (has('leek')) return leeks;
  if (has('cavolo', 'kale')) return leafBunch('#2f4a3a', 9, 34);
  if (has('sprout')) return sproutStalk;
  if (has('cabbage')) return bigRound('#6d3a6e', 'cabbage');
  if (has('celeriac')) return bigRound('#d8c9a3', 'celeriac');
  if (has('squash')) return squash;
  if (has('salad')) return salad;
  if (has('veg-box')) return vegBox;
  if (has('herb')) return potPlant('#c0643c', '#4f7a3f', 3);
  if (has('sourdough')) return loaf('boule');
  if (has('rye')) return loaf('rye');
  if (has('tin')) return loaf('tin');
  if (has('focaccia')) return loaf('focaccia');
  if (has('stollen')) return loaf('stollen');
  if (has('bun')) return smallBakes('buns');
  if (has('mince-pie')) return smallBakes('pies');
  if (has('soup')) return soup;
  if (has('duck-egg')) return eggBox('#d6e6e0', null, 6);
  if (has('seconds')) return eggBox('#c98f5f', null, 15);
  if (has('egg')) return eggBox('#c98f5f', '#8a5a3a', 6);
  if (has('wild-garlic')) return cheese('#4f7a3f');
  if (has('cheese-board')) return cheese(null, true);
  if (has('round')) return cheese(null);
  if (has('butter')) return butter;
  if (has('cream')) return jars('#fbf6e8', '#4f7a94', 2, { label: '#e6eef3' });
  if (has('yoghurt')) return jars('#f7f4ec', '#c9dbe5', 3, { label: '#4f7a94' });
  if (has('leg-of', 'leg')) return joint('leg');
  if (has('shoulder')) return joint('shoulder');
  if (has('chop')) return chops;
  if (has('mince')) return minceTray;
  if (has('mutton')) return diced;
  if (has('sausage')) return sausages;
  if (has('turkey')) return turkey;
  if (has('box') && category === 'meat') return parcel;
  if (has('elderflower')) return bottles('#e9ecc0', 2, '#f4f1e0', '#8fa57a');
  if (has('juice')) return bottles('#e9b64a', 3, '#f6ebcd', '#b7a57a');
  if (has('vinegar')) return bottles('#c98a3a', 1, '#f6ebcd', '#6b5a3a');
  if (has('mulled')) return bottles('#9c3a2a', 2, '#e8d1a2');
  if (has('medium-cider')) return bottles('#e0a93a', 3, '#e9d9a8');
  if (has('cider')) return bottles('#d99a2b', 2, '#f6ebcd');
  if (has('bramley')) return heap(['#8fbf4a', '#a2c95a', '#7fae3e'], 46, 42, { stalk: '#5a3f24' });
  if (has('apple')) return heap(['#c0392b', '#d35400', '#b9803e', '#e67e22', '#a93226'], 42, 38, { stalk: '#5a3f24' });
  if (has('pear')) return pears('#b7b04a');
  if (has('quince')) return heap(['#e8c33a', '#dcb52c', '#efcd52'], 46, 42, { stalk: '#5a3f24', speck: '#a08a3a' });
  if (has('strawberr')) return has('jam') ? jars('#a5192b', '#c8a65a', 2, { label: '#f7f1e3' }) : strawberries;
  if (has('raspberr')) return berries;
  if (has('jam')) return jars('#a5192b', '#c8a65a', 2, { label: '#f7f1e3' });
  if (has('heather')) return jars('#8a4a12', '#3a2a1a', 1, { label: '#e9dcc0', tall: true });
  if (has('spring-set')) return jars('#f2d27a', '#3a2a1a', 2, { label: '#f7f1e3' });
  if (has('runny', 'honey') && !has('comb')) return jars('#d38a1a', '#3a2a1a', 3, { label: '#f7f1e3' });
  if (has('comb')) return comb;
  if (has('hedgerow-candle')) return candles('#8c3f5d', 'tin');
  if (has('candle')) return has('knowstone') ? candles('#f1cf6a', 'dinner') : candles('#f1cf6a', 'pillar');
  if (has('polish')) return polishTin;
  if (has('dried')) return jars('#efe4c9', '#3a2a1a', 1, { chunks: ['#8a6a48', '#b89a72', '#6b4a30', '#c9b08a'], tall: true });
  if (has('grow-kit')) return growKit;
  if (has('lions-mane')) return mushrooms('lions-mane');
  if (has('shiitake')) return mushrooms('shiitake');
  if (has('mixed-mushroom')) return mushrooms('mixed');
  if (has('oyster', 'mushroom')) return mushrooms('oyster');
  if (has('log-basket')) return basket('log');
  if (has('obelisk')) return obelisk;
  if (has('wreath')) return wreath;
  // A fallback for products added later: a jar for the pantry, a heap for anything else.
  if (category === 'pantry') return jars('#d38a1a', '#3a2a1a', 2, { label: '#f7f1e3' });
  if (category === 'drinks') return bottles('#d99a2b', 2, '#f6ebcd');
  return heap(['#8fbf4a', '#c0392b', '#e8c33a'], 44, 38);
}

// ---------------------------------------------------------------------------------------------
// Composition

/** Paper-like mottling (low frequency, so it costs little in a JPEG) and a soft vignette. */
function finishDefs(seed: number): string {
  return `
    <filter id="mottle" x="0" y="0" width="100%" height="100%">
      <feTurbulence type="fractalNoise" baseFrequency="0.012 0.018" numOctaves="3" seed="${seed % 10000}"/>
      <feColorMatrix type="matrix" values="0 0 0 0 0.32  0 0 0 0 0.26  0 0 0 0 0.2  0.34 0 0 0 -0.13"/>
    </filter>
    <radialGradient id="vignette" cx="50%" cy="45%" r="72%">
      <stop offset="62%" stop-color="#000" stop-opacity="0"/>
      <stop offset="100%" stop-color="#000" stop-opacity="0.18"/>
    </radialGradient>
    <linearGradient id="leekWhite" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#f6f3e6"/><stop offset="0.7" stop-color="#eef0d0"/><stop offset="1" stop-color="#a9c77a"/></linearGradient>`;
}

/** The caption band along the bottom: a small uppercase line and the name. */
function caption(title: string, kicker: string, p: Palette): string {
  const maxW = W - 80;
  const size = Math.min(40, Math.floor(maxW / textWidthEm(title, true)));
  const kickerSize = 15;
  const spacing = 2.2;
  const kickerFits = kicker.length * (kickerSize * 0.78 + spacing) < maxW;
  const k = kickerFits ? kicker : kicker.slice(0, Math.floor(maxW / (kickerSize * 0.78 + spacing)) - 1) + '…';
  return `<rect x="0" y="486" width="${W}" height="${H - 486}" fill="#f8f3e8"/><rect x="0" y="486" width="${W}" height="5" fill="${p.accent}"/>
    <text x="${W / 2}" y="523" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${kickerSize}" letter-spacing="${spacing}" fill="${p.accent}">${esc(k.toUpperCase())}</text>
    <text x="${W / 2}" y="${f(568 + (40 - size) * 0.25)}" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-weight="bold" font-size="${size}" fill="${p.ink}">${esc(title)}</text>`;
}

function productSvg(slug: string, name: string, category: string, producerName: string, categoryName: string): string {
  const p = palettes[category] ?? fallbackPalette;
  const seed = hash(slug);
  const r = random(seed);
  let body = `<rect width="${W}" height="${H}" fill="url(#wall)"/>`;
  body += `<circle cx="400" cy="230" r="215" fill="${lighten(p.top, 0.5)}" opacity="0.5"/>`;
  // A few scattered dots on the wall, like a printed backdrop.
  for (let i = 0; i < 14; i++) {
    const x = between(r, 20, W - 20);
    const y = between(r, 20, 330);
    if (Math.hypot(x - 400, y - 250) < 230) continue;
    body += `<circle cx="${f(x)}" cy="${f(y)}" r="${f(between(r, 4, 9))}" fill="${p.accent}" opacity="0.1"/>`;
  }
  body += `<rect x="0" y="360" width="${W}" height="126" fill="url(#table)"/><rect x="0" y="360" width="${W}" height="4" fill="${darken(p.table, 0.2)}" opacity="0.6"/>`;
  body += `<rect width="${W}" height="486" filter="url(#mottle)"/>`;
  body += `<ellipse cx="400" cy="444" rx="250" ry="18" fill="#000" opacity="0.16"/>`;
  body += `<g transform="translate(400 440) scale(1.18)">${motifFor(slug, category)(r, p)}</g>`;
  body += `<rect width="${W}" height="486" fill="url(#vignette)"/>`;
  body += caption(name, `${categoryName} · ${producerName}`, p);
  const defs = `<linearGradient id="wall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${p.top}"/><stop offset="0.62" stop-color="${p.bottom}"/></linearGradient>
    <linearGradient id="table" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${lighten(p.table, 0.12)}"/><stop offset="1" stop-color="${darken(p.table, 0.12)}"/></linearGradient>${finishDefs(seed)}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><defs>${defs}</defs>${body}</svg>`;
}

// ---- producer landscapes

type Feature = (r: Rng) => string;

/** A hedgerow along a quadratic curve: a row of dark bushes with an occasional tree. */
function hedgeRow(x0: number, y0: number, cx: number, cy: number, x1: number, y1: number, r: Rng, scale = 1): string {
  let s = '';
  const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0) / (9 * scale));
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    const x = (1 - t) * (1 - t) * x0 + 2 * (1 - t) * t * cx + t * t * x1;
    const y = (1 - t) * (1 - t) * y0 + 2 * (1 - t) * t * cy + t * t * y1;
    const big = r() < 0.05;
    s += `<circle cx="${f(x)}" cy="${f(y - (big ? 10 : 0) * scale)}" r="${f((big ? between(r, 13, 17) : between(r, 5, 8)) * scale)}" fill="${pick(r, ['#3f5a34', '#46643a', '#36502e'])}"/>`;
  }
  return s;
}
function tree(x: number, y: number, size: number, r: Rng, fruit?: string): string {
  let s = `<rect x="${f(x - size * 0.08)}" y="${f(y - size * 0.6)}" width="${f(size * 0.16)}" height="${f(size * 0.6)}" fill="#5a4030"/>`;
  s += `<ellipse cx="${f(x)}" cy="${f(y - size * 0.85)}" rx="${f(size * 0.6)}" ry="${f(size * 0.5)}" fill="${pick(r, ['#4f7a3a', '#5c8a3c', '#46703a'])}"/>`;
  if (fruit) for (let i = 0; i < 7; i++) s += `<circle cx="${f(x + between(r, -size * 0.45, size * 0.45))}" cy="${f(y - size * 0.85 + between(r, -size * 0.32, size * 0.32))}" r="${f(size * 0.06)}" fill="${fruit}"/>`;
  return s;
}
const sheep = (x: number, y: number, s = 1) => `<g transform="translate(${f(x)} ${f(y)}) scale(${s})"><ellipse cx="0" cy="-14" rx="22" ry="14" fill="#f4f1e8"/><ellipse cx="22" cy="-18" rx="8" ry="7" fill="#2f2f2f"/><rect x="-14" y="-4" width="4" height="10" fill="#2f2f2f"/><rect x="10" y="-4" width="4" height="10" fill="#2f2f2f"/></g>`;
function barn(x: number, y: number, w: number, h: number, wall: string, roof: string, door = true): string {
  let s = `<rect x="${x}" y="${y - h}" width="${w}" height="${h}" fill="${wall}"/><path d="M${x - 10} ${y - h} L${x + w / 2} ${y - h - h * 0.6} L${x + w + 10} ${y - h} Z" fill="${roof}"/>`;
  if (door) s += `<rect x="${x + w * 0.38}" y="${y - h * 0.6}" width="${w * 0.24}" height="${h * 0.6}" fill="${darken(wall, 0.35)}"/>`;
  return s;
}

const features: Record<string, Feature> = {
  'week-farm': (r) => {
    let s = '';
    for (let i = 0; i < 7; i++) s += `<path d="M${60 + i * 8} ${380 + i * 14} L${380 - i * 4} ${372 + i * 16}" stroke="${i % 2 ? '#5c8a3c' : '#7a9a4a'}" stroke-width="8" stroke-linecap="round"/>`;
    for (const [x, w] of [
      [440, 150],
      [600, 150],
    ] as const) {
      s += `<path d="M${x} 420 Q${x + w / 2} 300 ${x + w} 420 Z" fill="#eef2ee" opacity="0.92"/>`;
      for (let k = 1; k < 5; k++) s += `<path d="M${x + (w * k) / 5} 420 Q${x + (w * k) / 5} 340 ${x + (w * k) / 5 + (k < 3 ? 6 : -6)} 345" stroke="#c9d2cc" stroke-width="3" fill="none"/>`;
    }
    s += barn(250, 335, 110, 60, '#b9a88a', '#6b5a4a') + tree(120, 340, 70, r);
    return s;
  },
  'crooked-oak-bakery': (r) => {
    let s = `<path d="M220 255 q-10 -30 10 -50 q20 -20 0 -50" stroke="#fff" stroke-width="10" fill="none" opacity="0.6" stroke-linecap="round"/>`;
    s += `<rect x="205" y="255" width="30" height="60" fill="#8a6a58"/>` + barn(120, 420, 240, 130, '#efe6d2', '#7a5a4a', false);
    s += `<rect x="170" y="320" width="40" height="36" fill="#f4d78a"/><rect x="280" y="320" width="40" height="36" fill="#f4d78a"/><rect x="225" y="350" width="36" height="70" fill="#5a3f30"/>`;
    s += `<path d="M560 430 Q540 340 600 300 Q560 260 620 240" stroke="#4a3628" stroke-width="26" fill="none" stroke-linecap="round"/>`;
    s += `<ellipse cx="610" cy="230" rx="120" ry="80" fill="#4f6f36"/><ellipse cx="540" cy="260" rx="70" ry="50" fill="#5c7f3c"/><ellipse cx="680" cy="270" rx="70" ry="46" fill="#46663a"/>`;
    s += tree(430, 430, 50, r);
    return s;
  },
  hannafords: (r) => {
    let s = '';
    for (const x of [140, 360, 580]) s += `<rect x="${x}" y="330" width="120" height="60" rx="8" fill="#d9d2bf"/><path d="M${x - 6} 334 Q${x + 60} 290 ${x + 126} 334 Z" fill="#8a3a2a"/><circle cx="${x + 20}" cy="396" r="8" fill="#3a3a3a"/><circle cx="${x + 100}" cy="396" r="8" fill="#3a3a3a"/>`;
    for (let i = 0; i < 26; i++) {
      const x = between(r, 40, 760);
      const y = between(r, 405, 470);
      s += `<g transform="translate(${f(x)} ${f(y)})"><ellipse cx="0" cy="0" rx="11" ry="8" fill="#9a5a2a"/><circle cx="9" cy="-7" r="5" fill="#9a5a2a"/><path d="M9 -12 l2 -3" stroke="#c8282f" stroke-width="3"/></g>`;
    }
    return s;
  },
  'beech-cross-creamery': (r) => {
    let s = barn(470, 380, 200, 90, '#e9e2d4', '#5a6670') + `<rect x="520" y="320" width="30" height="26" fill="#4a5660"/><rect x="600" y="320" width="30" height="26" fill="#4a5660"/>`;
    for (const [x, y] of [
      [130, 440],
      [250, 420],
      [360, 455],
    ] as const) {
      s += `<g transform="translate(${x} ${y})"><ellipse cx="0" cy="-22" rx="42" ry="20" fill="#b07a4a"/><ellipse cx="44" cy="-30" rx="14" ry="11" fill="#a06a3a"/><ellipse cx="50" cy="-27" rx="7" ry="5" fill="#3a2a1a"/>`;
      s += `<rect x="-30" y="-8" width="7" height="22" fill="#8a5a3a"/><rect x="22" y="-8" width="7" height="22" fill="#8a5a3a"/><ellipse cx="-8" cy="-4" rx="10" ry="5" fill="#f0c0b0"/></g>`;
    }
    s += tree(720, 380, 80, r);
    return s;
  },
  'two-rivers-farm': (r) => {
    let s = `<path d="M0 455 Q200 420 380 445 T800 425 V480 Q600 470 400 480 T0 485 Z" fill="#7fa3b8"/><path d="M40 460 q60 -8 120 0 M420 455 q60 -8 120 0" stroke="#d7e6ee" stroke-width="4" fill="none"/>`;
    for (let i = 0; i < 14; i++) s += sheep(between(r, 60, 740), between(r, 330, 410), between(r, 0.8, 1.1));
    s += barn(620, 330, 110, 55, '#a8a294', '#4f4a44') + tree(80, 330, 70, r);
    return s;
  },
  'little-ash-orchard': (r) => {
    let s = '';
    for (let i = 0; i < 9; i++) s += tree(70 + i * 85 + between(r, -12, 12), 380 + (i % 2) * 40, between(r, 80, 100), r, pick(r, ['#c0392b', '#d35400', '#a5c94a']));
    for (let i = 0; i < 5; i++) s += sheep(between(r, 80, 720), between(r, 440, 470), 0.9);
    return s;
  },
  'knowstone-honey': (r) => {
    let s = `<path d="M0 236 Q200 200 420 218 T800 206 V246 Q400 238 0 252 Z" fill="#8a6a7a" opacity="0.45"/>`;
    for (let i = 0; i < 6; i++) {
      const x = 120 + i * 100;
      const y = 420 + (i % 2) * 18;
      s += `<rect x="${x}" y="${y - 80}" width="64" height="80" fill="${i % 3 ? '#f1e2b8' : '#dfe8ee'}"/><rect x="${x}" y="${y - 56}" width="64" height="4" fill="#b8a37a"/><rect x="${x - 6}" y="${y - 92}" width="76" height="14" fill="#7a6a5a"/><rect x="${x + 22}" y="${y - 10}" width="20" height="5" fill="#4a3a2a"/>`;
    }
    for (let i = 0; i < 10; i++) s += `<circle cx="${f(between(r, 120, 700))}" cy="${f(between(r, 300, 330))}" r="2" fill="#3a2a1a" opacity="0.7"/>`;
    s += tree(60, 420, 90, r);
    return s;
  },
  'marsh-lane-mushrooms': (r) => {
    let s = '';
    for (const [x, c] of [
      [230, '#4d6a80'],
      [470, '#7a4a3a'],
    ] as const) {
      s += `<rect x="${x}" y="320" width="210" height="100" fill="${c}"/>`;
      for (let k = 0; k < 10; k++) s += `<rect x="${x + 6 + k * 20}" y="326" width="10" height="88" fill="${darken(c, 0.15)}"/>`;
    }
    s += `<rect x="420" y="300" width="70" height="10" fill="#5a5a5a"/>`;
    for (let i = 0; i < 60; i++) {
      const x = between(r, 0, 800);
      s += `<path d="M${f(x)} 480 q${f(between(r, -8, 8))} -40 ${f(between(r, -10, 10))} ${f(-between(r, 50, 90))}" stroke="${pick(r, ['#8a8a4a', '#a09a5a', '#6e7a3a'])}" stroke-width="4" fill="none"/>`;
    }
    return s;
  },
  'wren-and-willow': (r) => {
    let s = `<path d="M0 460 Q300 430 500 450 T800 440 V485 H0 Z" fill="#7fa3b8"/>`;
    for (let row = 0; row < 5; row++) {
      for (let i = 0; i < 22; i++) {
        const x = 60 + i * 32 + row * 6 + between(r, -6, 6);
        const base = 360 + row * 18;
        const c = pick(r, ['#6e3a4a', '#8a6a3a', '#a8a04a', '#5a3a2a', '#b0784a']);
        s += `<path d="M${f(x)} ${base} q${f(between(r, -10, 10))} -60 ${f(between(r, -16, 16))} ${f(-between(r, 70, 120))}" stroke="${c}" stroke-width="4" fill="none"/>`;
      }
    }
    return s;
  },
  'ferndown-pottery': (r) => {
    let s = barn(160, 420, 300, 120, '#d9cbb4', '#4a4f56') + `<rect x="200" y="340" width="50" height="40" fill="#f4d78a"/><rect x="370" y="340" width="50" height="40" fill="#f4d78a"/>`;
    s += `<rect x="420" y="215" width="26" height="80" fill="#7a6a5a"/><path d="M433 205 q-10 -24 8 -40 q18 -20 0 -40" stroke="#fff" stroke-width="8" fill="none" opacity="0.55"/>`;
    for (let i = 0; i < 5; i++) s += `<path d="M${520 + i * 40} 440 q-14 -40 0 -56 h20 q14 16 0 56 Z" fill="${pick(r, ['#e4d3b0', '#6f8fa6', '#c0643c'])}"/>`;
    s += tree(700, 420, 90, r);
    return s;
  },
  'bidwell-fruit': (r) => {
    let s = '';
    for (let row = 0; row < 3; row++) for (let i = 0; i < 6; i++) s += tree(60 + i * 70 + row * 20, 360 + row * 30, 50 + row * 8, r, pick(r, ['#c0392b', '#e8c33a']));
    for (const x of [480, 610]) s += `<path d="M${x} 450 Q${x + 60} 350 ${x + 120} 450 Z" fill="#eef2ee" opacity="0.92"/><path d="M${x + 20} 450 Q${x + 60} 380 ${x + 100} 450" stroke="#c8282f" stroke-width="3" fill="none" opacity="0.5"/>`;
    return s;
  },
};

function producerSvg(slug: string, name: string, location: string): string {
  const seed = hash(slug);
  const r = random(seed);
  const p: Palette = { top: '#bcd6e6', bottom: '#eef0e0', table: '#6e8f4e', accent: '#3f6b35', ink: '#22351c' };
  let body = `<rect width="${W}" height="${H}" fill="url(#sky)"/>`;
  body += `<circle cx="${f(between(r, 560, 700))}" cy="${f(between(r, 80, 120))}" r="46" fill="#fff6d8" opacity="0.95"/>`;
  for (let i = 0; i < 3; i++) body += `<ellipse cx="${f(between(r, 60, 740))}" cy="${f(between(r, 60, 150))}" rx="${f(between(r, 60, 100))}" ry="${f(between(r, 14, 22))}" fill="#fff" opacity="0.7"/>`;
  // Three bands of hills: far, middle (Devon patchwork with hedges) and the foreground.
  const y1 = between(r, 200, 230);
  body += `<path d="M0 ${f(y1)} Q200 ${f(y1 - 40)} 400 ${f(y1 - 10)} T800 ${f(y1 - 20)} V420 H0 Z" fill="#9fb893"/>`;
  const y2 = between(r, 255, 280);
  body += `<path d="M0 ${f(y2)} Q250 ${f(y2 - 50)} 520 ${f(y2 - 5)} T800 ${f(y2 - 25)} V440 H0 Z" fill="#86a86a"/>`;
  // Patchwork fields on the middle hill, each bounded by a hedgerow with the odd tree in it.
  for (let i = 0; i < 3; i++) {
    const x = 150 + i * 250 + between(r, -40, 40);
    body += `<path d="M${f(x - 90)} ${f(y2 + 8)} L${f(x + 80)} ${f(y2 - 4)} L${f(x + 110)} ${f(y2 + 40)} L${f(x - 70)} ${f(y2 + 52)} Z" fill="${pick(r, ['#9cba70', '#7c9e5c', '#a8b86a'])}" opacity="0.8"/>`;
    body += hedgeRow(x - 10, y2 - 15, x + 20, y2 + 20, x - 20, y2 + 60, r);
  }
  body += hedgeRow(0, y2 + 44, 300, y2 + 14, 800, y2 + 50, r);
  body += hedgeRow(0, y1 + 34, 400, y1 + 4, 800, y1 + 20, r, 0.6);
  body += `<path d="M0 330 Q200 300 420 320 T800 310 V486 H0 Z" fill="#6e9a4e"/>`;
  body += (features[slug] ?? ((rr: Rng) => tree(400, 420, 120, rr)))(r);
  body += `<rect width="${W}" height="486" filter="url(#mottle)"/><rect width="${W}" height="486" fill="url(#vignette)"/>`;
  body += caption(name, location, p);
  const defs = `<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${p.top}"/><stop offset="0.45" stop-color="${p.bottom}"/></linearGradient>${finishDefs(seed)}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><defs>${defs}</defs>${body}</svg>`;
}

// ---------------------------------------------------------------------------------------------
// Reading the content and writing the files

interface Job {
  file: string;
  svg: string;
}

async function jobs(): Promise<Job[]> {
  const categories = JSON.parse(await fs.readFile(path.join(market, 'categories.json'), 'utf8')) as { slug: string; name: string }[];
  const categoryName = new Map(categories.map((c) => [c.slug, c.name]));
  const out: Job[] = [];
  const producerName = new Map<string, string>();
  const producerFiles = (await fs.readdir(path.join(market, 'producers'))).filter((n) => n.endsWith('.md')).sort();
  for (const file of producerFiles) {
    const slug = file.replace(/\.md$/, '');
    const { data } = matter(await fs.readFile(path.join(market, 'producers', file), 'utf8'));
    const name = String(data.name ?? slug);
    producerName.set(slug, name);
    if (typeof data.image === 'string') out.push({ file: data.image, svg: producerSvg(slug, name, String(data.location ?? '')) });
  }
  const productFiles = (await fs.readdir(path.join(market, 'products'))).filter((n) => n.endsWith('.json')).sort();
  for (const file of productFiles) {
    const producer = file.replace(/\.json$/, '');
    const products = JSON.parse(await fs.readFile(path.join(market, 'products', file), 'utf8')) as { slug: string; name: string; category: string; image?: string }[];
    for (const p of products) {
      if (!p.image) continue;
      out.push({ file: p.image, svg: productSvg(p.slug, p.name, p.category, producerName.get(producer) ?? producer, categoryName.get(p.category) ?? p.category) });
    }
  }
  return out;
}

async function render(job: Job): Promise<{ file: string; bytes: number; changed: boolean }> {
  const target = path.resolve(market, job.file);
  if (!target.startsWith(path.join(market, 'images') + path.sep)) throw new Error(`${job.file}: images must live in content/market/images/`);
  let quality = QUALITY;
  let data = await sharp(Buffer.from(job.svg)).jpeg({ quality, mozjpeg: true }).toBuffer();
  // Keep every file under the size budget; a busy picture drops a few quality steps.
  while (data.length > MAX_BYTES && quality > 50) {
    quality -= 5;
    data = await sharp(Buffer.from(job.svg)).jpeg({ quality, mozjpeg: true }).toBuffer();
  }
  const old = await fs.readFile(target).catch(() => null);
  const changed = !old || !old.equals(data);
  if (changed) await fs.writeFile(target, data);
  return { file: path.relative(root, target), bytes: data.length, changed };
}

async function main(): Promise<void> {
  await fs.mkdir(path.join(market, 'images'), { recursive: true });
  const list = await jobs();
  const only = process.argv.slice(2);
  const todo = only.length ? list.filter((j) => only.some((o) => j.file.includes(o))) : list;
  let total = 0;
  let written = 0;
  // Two at a time: librsvg and mozjpeg are single-threaded per image.
  for (let i = 0; i < todo.length; i += 2) {
    const done = await Promise.all(todo.slice(i, i + 2).map(render));
    for (const d of done) {
      total += d.bytes;
      if (d.changed) written++;
      console.log(`${d.file}  ${W}×${H}  ${(d.bytes / 1024).toFixed(1)} KiB${d.changed ? '' : '  (unchanged)'}`);
    }
  }
  const wanted = new Set(list.map((j) => path.basename(j.file)));
  const stale = (await fs.readdir(path.join(market, 'images'))).filter((n) => n.endsWith('.jpg') && !wanted.has(n));
  for (const n of stale) console.warn(`not referenced by any producer or product: content/market/images/${n}`);
  console.log(`${todo.length} images, ${written} written, ${(total / 1024).toFixed(0)} KiB in all`);
}

await main();
