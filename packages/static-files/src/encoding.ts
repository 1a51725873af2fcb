/** A representation of a file: as it is, or one of its precompressed variants. */
export type Encoding = 'br' | 'gzip' | 'identity';

interface Weights {
  br: number;
  gzip: number;
}

// Browsers send a handful of distinct headers; parsing each once keeps the hot path cheap.
const parsed = new Map<string, Weights>();

function weigh(header: string): Weights {
  let cached = parsed.get(header);
  if (cached) return cached;
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName!.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim().toLowerCase() === 'q') {
        const n = Number(v?.trim());
        q = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
      }
    }
    if (name === 'br') br = Math.max(br, q);
    else if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip, q);
    else if (name === '*') star = Math.max(star, q);
  }
  cached = { br: br >= 0 ? br : Math.max(star, 0), gzip: gzip >= 0 ? gzip : Math.max(star, 0) };
  if (parsed.size >= 256) parsed.clear();
  parsed.set(header, cached);
  return cached;
}

/**
 * Picks the encoding to send for an `Accept-Encoding` header (RFC 9110 §12.5.3) among the
 * ones available: the highest `q` wins, brotli before gzip on a tie, `q=0` refuses, `*`
 * stands for encodings not named. Without the header, or with nothing acceptable and
 * available, the file goes as it is.
 *
 * @example negotiateEncoding('gzip, deflate, br', { br: true, gzip: true }) // 'br'
 */
export function negotiateEncoding(header: string | undefined, available: { br: boolean; gzip: boolean }): Encoding {
  if (!header) return 'identity';
  const w = weigh(header);
  const br = available.br ? w.br : 0;
  const gzip = available.gzip ? w.gzip : 0;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return 'identity';
}
