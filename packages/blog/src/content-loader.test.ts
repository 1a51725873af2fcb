import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeContentFixture, post } from './content.fixture.ts';
import { loadContent } from './content-loader.ts';

describe('loadContent', () => {
  it('reads a valid folder: posts, pages, sanitised HTML', async () => {
    const bundle = await loadContent(await writeContentFixture());
    expect(bundle.site.title).toBe('Test Co-op');
    expect(bundle.posts.map((p) => `${p.type}:${p.slug}`).sort()).toEqual(['page:about', 'post:a-draft', 'post:first-post', 'post:members-only', 'post:second-post']);
    const second = bundle.posts.find((p) => p.slug === 'second-post')!;
    expect(second.html).not.toContain('<script');
    expect(second.authors).toEqual(['bob', 'ann']);
    expect(bundle.posts.find((p) => p.slug === 'first-post')!.html).toContain('<strong>world</strong>');
  });

  it('names every bad file and field at once', async () => {
    const dir = await writeContentFixture({
      'posts/bad-date.md': post({ title: 'Bad', date: 'yesterday', authors: ['ann'] }, 'x'),
      'posts/unknown-tag.md': post({ title: 'Tagless', date: '2025-01-01T00:00:00Z', authors: ['ann'], tags: ['nope'] }, 'x'),
      'posts/Bad Name.md': post({ title: 'X', date: '2025-01-01T00:00:00Z', authors: ['ann'] }, 'x'),
      'posts/tag.md': post({ title: 'Reserved', date: '2025-01-01T00:00:00Z', authors: ['ann'] }, 'x'),
      'pages/first-post.md': post({ title: 'Clash' }, 'x'),
      'authors.json': JSON.stringify([{ slug: 'ann', name: 'Ann' }, { slug: 'bob', name: '' }]),
    });
    const error = (await loadContent(dir).catch((e: Error) => e)) as Error;
    expect(error.name).toBe('ContentError');
    expect(error.message.replace(dir, '<dir>')).toMatchInlineSnapshot(`
      "6 problem(s) in <dir>:
        authors.json: [1].name: must not be empty
        posts/Bad Name.md: file name "Bad Name.md" is not a valid slug; rename it or set "slug" in the front matter
        posts/bad-date.md: date: expected a date like 2025-01-18T09:30:00Z
        posts/tag.md: slug: "tag" is reserved for the blog's own pages; choose another
        posts/unknown-tag.md: tags[0]: unknown tag "nope" (add it to tags.json)
        pages/first-post.md: slug: "first-post" is already used by posts/first-post.md (posts and pages share one set of slugs)"
    `);
  });

  it('reports broken JSON and YAML with the file name', async () => {
    const dir = await writeContentFixture({ 'tags.json': '[{"slug": ', 'posts/broken.md': '---\ntitle: [unclosed\n---\nbody' });
    const error = (await loadContent(dir).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/tags\.json: is not valid JSON/);
    expect(error.message).toMatch(/posts\/broken\.md: front matter is not valid YAML/);
  });

  it('refuses a missing folder with a hint', async () => {
    await expect(loadContent('/nonexistent/rose-content')).rejects.toMatchObject({ hint: expect.stringContaining('ROSE_CONTENT_DIR') });
  });

  it('refuses a folder without posts/ (seeding it would remove every post), but not one without pages/', async () => {
    const noPosts = await writeContentFixture({ 'posts/first-post.md': null, 'posts/second-post.md': null, 'posts/members-only.md': null, 'posts/a-draft.md': null });
    await fs.rm(path.join(noPosts, 'posts'), { recursive: true, force: true });
    const error = (await loadContent(noPosts).catch((e: Error) => e)) as Error;
    expect(error.name).toBe('ContentError');
    expect(error.message.replace(noPosts, '<dir>')).toBe('1 problem(s) in <dir>:\n  posts/: folder is missing (an empty posts/ means "no posts")');

    await fs.mkdir(path.join(noPosts, 'posts'));
    await fs.rm(path.join(noPosts, 'pages'), { recursive: true });
    expect((await loadContent(noPosts)).posts).toEqual([]);
  });

  it('refuses a folder that is not a content folder at all', async () => {
    const elsewhere = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-not-content-'));
    await fs.writeFile(path.join(elsewhere, 'notes.txt'), 'hello');
    await expect(loadContent(elsewhere)).rejects.toMatchObject({
      name: 'ContentError',
      message: `${elsewhere}: this is not a content folder: it has neither site.json nor posts/`,
      hint: expect.stringContaining('--content'),
    });
  });
});

