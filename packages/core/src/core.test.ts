import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { absoluteUrl, blogLinks, maskUrl, parseWithFriendlyErrors } from './index.ts';

describe('maskUrl', () => {
  it('hides passwords in URLs', () => {
    expect(maskUrl('postgres://rose:secret@db:5432/rose')).toBe('postgres://rose:****@db:5432/rose');
    expect(maskUrl('postgres://db:5432/rose')).toBe('postgres://db:5432/rose');
    expect(maskUrl('not a url://u:pw@x')).not.toContain('pw@');
  });
});

describe('links', () => {
  it('builds blog paths under the /blog prefix', () => {
    expect(blogLinks.post('hello')).toBe('/blog/hello/');
    expect(blogLinks.listPage(1)).toBe('/blog/');
    expect(blogLinks.listPage(3)).toBe('/blog/page/3/');
    expect(blogLinks.tag('news', 2)).toBe('/blog/tag/news/page/2/');
    expect(absoluteUrl('https://coop.example', '/blog/x/')).toBe('https://coop.example/blog/x/');
  });
});

describe('parseWithFriendlyErrors', () => {
  it('names the path of each bad field', () => {
    const result = parseWithFriendlyErrors(z.object({ tags: z.array(z.string()) }), { tags: ['a', 3] });
    expect(result).toEqual({ ok: false, problems: ['tags[1]: Invalid input: expected string, received number'] });
  });
});
