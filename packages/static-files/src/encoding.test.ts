import { describe, expect, it } from 'vitest';
import { negotiateEncoding } from './encoding.ts';

const both = { br: true, gzip: true };

describe('negotiateEncoding', () => {
  it.each([
    ['gzip, deflate, br', both, 'br'],
    ['gzip, deflate, br, zstd', both, 'br'],
    ['gzip', both, 'gzip'],
    ['br;q=0.5, gzip;q=0.8', both, 'gzip'],
    ['br;q=0.8, gzip;q=0.8', both, 'br'],
    ['br;q=0, gzip', both, 'gzip'],
    ['*', both, 'br'],
    ['*;q=0.5, br;q=0', both, 'gzip'],
    ['identity', both, 'identity'],
    ['deflate', both, 'identity'],
    ['gzip;q=0, br;q=0', both, 'identity'],
    ['BR, GZIP', both, 'br'],
    ['x-gzip', both, 'gzip'],
    ['gzip, br', { br: false, gzip: true }, 'gzip'],
    ['br', { br: false, gzip: true }, 'identity'],
    ['gzip;q=nonsense, br;q=2', both, 'identity'],
  ] as const)('%s with %o → %s', (header, available, expected) => {
    expect(negotiateEncoding(header, available)).toBe(expected);
  });

  it('sends the file as it is without the header', () => {
    expect(negotiateEncoding(undefined, both)).toBe('identity');
    expect(negotiateEncoding('', both)).toBe('identity');
  });
});
