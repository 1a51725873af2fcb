import { describe, expect, it } from 'vitest';
import { parseRequestId, requestIdFor } from './request-id.ts';

describe('request ids', () => {
  it('accepts 1-128 letters, digits, ".", "_", ":" and "-"', () => {
    for (const id of ['a', '3f2c0a9e-5d1b-4c8e-9f00-1a2b3c4d5e6f', 'caddy:01HZX.req_7', 'x'.repeat(128)]) expect(parseRequestId(id)).toBe(id);
  });

  it('refuses anything else', () => {
    for (const bad of [undefined, '', 'x'.repeat(129), 'a b', 'a\nb', 'a"b', '<script>', 'a,b', 'é', ['a', 'b']]) expect(parseRequestId(bad)).toBeUndefined();
  });

  it("uses a trusted proxy's valid id, and makes one otherwise", () => {
    const make = () => 'made-here';
    expect(requestIdFor('from-caddy-1', true, make)).toBe('from-caddy-1');
    expect(requestIdFor('from-caddy-1', false, make)).toBe('made-here');
    expect(requestIdFor('bad id', true, make)).toBe('made-here');
    expect(requestIdFor(undefined, true, make)).toBe('made-here');
  });

  it('makes a UUID by default', () => {
    const a = requestIdFor(undefined, false);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdFor(undefined, false)).not.toBe(a);
  });
});
