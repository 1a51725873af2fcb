import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startGhost, type GhostServer } from '@rose/testing';

interface ContentPost {
  title: string;
  html?: string | null;
  visibility: string;
  access?: boolean;
  tags: { name: string }[];
  authors: { name: string }[];
}

// A real Ghost 6 (cached install, fresh SQLite database): writes through the Admin API
// must be readable through the Content API the way the importer will read them.
describe('Ghost test server', () => {
  let ghost: GhostServer;

  beforeAll(async () => {
    ghost = await startGhost({ log: (line) => console.log(line) });
  }, 600_000);

  afterAll(async () => {
    await ghost?.stop();
  });

  async function contentPost(slug: string): Promise<ContentPost> {
    const res = await fetch(`${ghost.url}/ghost/api/content/posts/?key=${ghost.contentKey}&include=tags,authors&formats=html&filter=slug:${slug}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { posts: ContentPost[] };
    expect(body.posts).toHaveLength(1);
    return body.posts[0]!;
  }

  it('publishes a post through the Admin API and reads it back through the Content API', async () => {
    const created = await ghost.admin<{ posts: { slug: string }[] }>('POST', '/posts/?source=html', {
      posts: [{ title: 'Harness hello', html: '<p>Hello from the <strong>harness</strong>.</p>', status: 'published', tags: [{ name: 'Harness' }] }],
    });
    const post = await contentPost(created.posts[0]!.slug);
    expect(post.title).toBe('Harness hello');
    expect(post.html).toContain('Hello from the <strong>harness</strong>.');
    expect(post.tags.map((t) => t.name)).toEqual(['Harness']);
    expect(post.authors.map((a) => a.name)).toEqual(['Rose Test Owner']);
  });

  it('lists a members-only post in the Content API without its body', async () => {
    const created = await ghost.admin<{ posts: { slug: string }[] }>('POST', '/posts/?source=html', {
      posts: [{ title: 'Members only', html: '<p>Secret paragraph.</p><p>More secrets.</p>', status: 'published', visibility: 'members' }],
    });
    const post = await contentPost(created.posts[0]!.slug);
    expect(post.title).toBe('Members only');
    expect(post.visibility).toBe('members');
    // Ghost 6.65 answers an anonymous Content API read of a gated post with `html: ''`
    // (present but empty; plaintext and excerpt are '' too) and `access: false`.
    expect(post.html).toBe('');
    expect(post.access).toBe(false);

    // With a public-preview divider the body is cut there instead of emptied.
    const preview = await ghost.admin<{ posts: { slug: string }[] }>('POST', '/posts/?source=html', {
      posts: [{ title: 'Members preview', html: '<p>Public intro.</p><!--members-only--><p>Secret.</p>', status: 'published', visibility: 'members' }],
    });
    const cut = await contentPost(preview.posts[0]!.slug);
    expect(cut.html).toBe('<p>Public intro.</p>');
    expect(cut.access).toBe(false);
  });
});
