import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from './request-path.ts';

describe('parseRequestTarget', () => {
  it('splits the path from the query and decodes it', () => {
    expect(parseRequestTarget('/blog/')).toEqual({ kind: 'path', path: '/blog/', query: '' });
    expect(parseRequestTarget('/blog/caf%C3%A9/?a=1&b=%2F')).toEqual({ kind: 'path', path: '/blog/café/', query: '?a=1&b=%2F' });
  });

  it.each(['/blog/../etc/passwd', '/..', '/blog/./x', '/blog/%2e%2e/%2e%2e/etc/passwd', '/blog/%2E%2E', '/a/..%2fb', '/x%00.html', '/x\0', '/a\\..\\b', '/%E0%A4%A', '/%zz'])('%s is refused', (url) => {
    expect(parseRequestTarget(url).kind).toBe('bad');
  });

  it('leaves names that merely contain dots alone', () => {
    expect(parseRequestTarget('/blog/..hidden..name/').kind).toBe('path');
    expect(parseRequestTarget('/a.b/c..d.html').kind).toBe('path');
  });

  it('passes on targets that are not a path', () => {
    expect(parseRequestTarget('*').kind).toBe('other');
    expect(parseRequestTarget('http://example.org/blog/').kind).toBe('other');
    expect(parseRequestTarget(undefined).kind).toBe('other');
  });
});
