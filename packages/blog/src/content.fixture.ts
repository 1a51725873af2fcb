import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A small, valid content folder for tests; `files` adds or replaces files (null removes). */
export async function writeContentFixture(files: Record<string, string | null> = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-content-'));
  const base: Record<string, string> = {
    'site.json': JSON.stringify({ title: 'Test Co-op', description: 'A test co-operative.', locale: 'en-GB', timezone: 'Europe/London' }),
    'authors.json': JSON.stringify([
      { slug: 'ann', name: 'Ann Baker', bio: 'Bakes.' },
      { slug: 'bob', name: 'Bob Grower', website: 'https://bob.example.org' },
    ]),
    'tags.json': JSON.stringify([
      { slug: 'news', name: 'News' },
      { slug: 'recipes', name: 'Recipes', description: 'Things to cook.' },
    ]),
    'navigation.json': JSON.stringify({ primary: [{ label: 'Home', url: '/blog/' }], secondary: [{ label: 'RSS', url: '/blog/rss.xml' }] }),
    'posts/first-post.md': post({ title: 'First post', date: '2025-01-01T10:00:00Z', tags: ['news'], authors: ['ann'] }, 'Hello **world**.'),
    'posts/second-post.md': post({ title: 'Second post', date: '2025-02-01T10:00:00Z', tags: ['recipes', 'news'], authors: ['bob', 'ann'] }, 'Soup <script>alert(1)</script> recipe.'),
    'posts/members-only.md': post({ title: 'Members only', date: '2025-03-01T10:00:00Z', tags: ['news'], authors: ['ann'], visibility: 'members', excerpt: 'A teaser.' }, 'PUBLIC TEASER for everyone.\n\n<!--members-only-->\n\nSECRET BODY'),
    'posts/a-draft.md': post({ title: 'A draft', date: '2025-04-01T10:00:00Z', tags: ['news'], authors: ['ann'], status: 'draft' }, 'Not yet.'),
    'pages/about.md': post({ title: 'About us' }, 'We are a co-op.'),
  };
  for (const [name, content] of Object.entries({ ...base, ...files })) {
    if (content === null) continue;
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  return dir;
}

export function post(frontMatter: Record<string, unknown>, body: string): string {
  const yaml = Object.entries(frontMatter)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `---\n${yaml}\n---\n${body}\n`;
}
