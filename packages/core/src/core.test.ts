import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { absoluteUrl, accountLinks, blogLinks, formatBytes, maskUrl, parseWithFriendlyErrors, siteLinks } from './index.ts';

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
    expect(blogLinks.listPageOne()).toBe('/blog/page/1/');
    expect(blogLinks.image('market-480.0123456789abcdef.avif')).toBe('/blog/images/market-480.0123456789abcdef.avif');
    expect(absoluteUrl('https://coop.example', '/blog/x/')).toBe('https://coop.example/blog/x/');
  });
});

describe('site and account links', () => {
  it('name the front page and the members\' pages of their parts', () => {
    expect(siteLinks.home()).toBe('/');
    expect(siteLinks.favicon()).toBe('/favicon.ico');
    expect(accountLinks.home()).toBe('/account/');
    expect(accountLinks.signIn()).toBe('/auth/login');
    expect(accountLinks.signUp()).toBe('/auth/signup');
  });
});

describe('parseWithFriendlyErrors', () => {
  it('names the path of each bad field', () => {
    const result = parseWithFriendlyErrors(z.object({ tags: z.array(z.string()) }), { tags: ['a', 3] });
    expect(result).toEqual({ ok: false, problems: ['tags[1]: Invalid input: expected string, received number'] });
  });
});

describe('formatBytes', () => {
  it('says a size in the largest unit that keeps it at least 1', () => {
    expect([512, 3_789, 216_321_024, 1_342_177_280].map(formatBytes)).toEqual(['512 B', '3.7 KiB', '206.3 MiB', '1.25 GiB']);
  });
});
