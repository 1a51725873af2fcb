export type ByteRange = { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' } | { kind: 'ignore' };

/**
 * Reads a `Range` header for a body of `size` bytes (RFC 9110 §14). One range is served as
 * asked (`end` inclusive); a header that is malformed, in another unit or asks for several
 * ranges is ignored (the whole body is sent with 200, which the RFC allows); a range that
 * starts past the end is unsatisfiable (416).
 */
export function parseRange(header: string, size: number): ByteRange {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'ignore' };
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'ignore' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (last !== '' && end < start) return { kind: 'ignore' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}
