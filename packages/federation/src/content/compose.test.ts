import { describe, expect, it } from 'vitest';
import { composeNote, type ComposeOptions, type MentionHandle, type ResolvedMention } from './compose.ts';

const known: Record<string, ResolvedMention> = {
  'ana@social.example': { id: 'https://social.example/users/ana', url: 'https://social.example/@ana', handle: '@ana@social.example' },
  'bob@': { id: 'https://rose.example/users/bob', url: 'https://rose.example/@bob', handle: 'bob@rose.example' },
};

/** A directory of two people that records every lookup, standing in for the database and WebFinger. */
function directory(): ComposeOptions & { lookups: MentionHandle[] } {
  const lookups: MentionHandle[] = [];
  return {
    lookups,
    resolveMention: async (handle) => {
      lookups.push(handle);
      return known[`${handle.user}@${handle.host ?? ''}`.toLowerCase()];
    },
    hashtagUrl: (tag) => `https://rose.example/tags/${encodeURIComponent(tag.toLowerCase())}`,
  };
}

async function compose(markdown: string, opts: ComposeOptions = directory()) {
  const result = await composeNote(markdown, opts);
  if (!result.ok) throw new Error(`expected a note, got ${result.error.type}: ${result.error.message}`);
  return result.value;
}

const anaLink = '<span class="h-card"><a class="u-url mention" href="https://social.example/@ana">@<span>ana</span></a></span>';
const bobLink = '<span class="h-card"><a class="u-url mention" href="https://rose.example/@bob">@<span>bob</span></a></span>';
const tagLink = (tag: string) => `<a class="mention hashtag" rel="tag" href="https://rose.example/tags/${tag.toLowerCase()}">#<span>${tag}</span></a>`;

describe('composeNote', () => {
  it('links remote and local mentions as Mastodon h-cards and lists them for the Mention tags', async () => {
    const opts = directory();
    const note = await compose('Hi @ana@social.example and @bob!', opts);
    expect(note.html).toBe(`<p>Hi ${anaLink} and ${bobLink}!</p>`);
    expect(note.mentions).toEqual([
      { id: 'https://social.example/users/ana', name: '@ana@social.example' },
      { id: 'https://rose.example/users/bob', name: '@bob@rose.example' },
    ]);
    expect(opts.lookups).toEqual([
      { user: 'ana', host: 'social.example' },
      { user: 'bob', host: undefined },
    ]);
  });

  it('leaves a mention nobody answers to as text', async () => {
    const note = await compose('cc @nobody@nowhere.example and @ghost');
    expect(note.html).toBe('<p>cc @nobody@nowhere.example and @ghost</p>');
    expect(note.mentions).toEqual([]);
  });

  it('looks each handle up once, however often and in whatever case it is written', async () => {
    const opts = directory();
    const note = await compose('@ana@social.example @ANA@Social.Example @ana@social.example', opts);
    expect(opts.lookups).toHaveLength(1);
    expect(note.mentions).toHaveLength(1);
    expect(note.html.match(/h-card/g)).toHaveLength(3);
  });

  it('links hashtags, one entry per tag whatever its case', async () => {
    const note = await compose('Growing #Tomatoes, again #tomatoes. #日本語 too');
    expect(note.html).toBe(`<p>Growing ${tagLink('Tomatoes')}, again ${tagLink('tomatoes')}. <a class="mention hashtag" rel="tag" href="https://rose.example/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E">#<span>日本語</span></a> too</p>`);
    expect(note.hashtags).toEqual([
      { name: '#Tomatoes', href: 'https://rose.example/tags/tomatoes' },
      { name: '#日本語', href: 'https://rose.example/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E' },
    ]);
  });

  it('does not take numbers, words ending in # or URL fragments for hashtags, nor email addresses for mentions', async () => {
    const opts = directory();
    const note = await compose('Issue #42 in C# at https://a.example/page#section, mail ana@social.example', opts);
    expect(note.hashtags).toEqual([]);
    expect(note.mentions).toEqual([]);
    expect(opts.lookups).toEqual([]);
    expect(note.html).toContain('#42 in C# at <a href="https://a.example/page#section"');
    expect(note.html).toContain('<a href="mailto:ana@social.example"');
  });

  it('links nothing inside code, code blocks or existing links', async () => {
    const opts = directory();
    const note = await compose(
      'Use `@ana@social.example #tag` literally.\n\n```\n@bob #tag\n```\n\n[ask @ana@social.example about #tag](https://a.example/) or <a href="https://b.example/">@bob #x</a>',
      opts,
    );
    expect(note.html).toBe(
      '<p>Use <code>@ana@social.example #tag</code> literally.</p><pre><code>@bob #tag\n</code></pre>' +
        '<p><a href="https://a.example/" rel="nofollow noopener noreferrer ugc" target="_blank">ask @ana@social.example about #tag</a> or ' +
        '<a href="https://b.example/" rel="nofollow noopener noreferrer ugc" target="_blank">@bob #x</a></p>',
    );
    expect(opts.lookups).toEqual([]);
    expect(note.hashtags).toEqual([]);
  });

  it('links mentions and hashtags inside emphasis and lists, and lets a backslash opt out', async () => {
    const note = await compose('**@bob** _#tag_\n\n- thanks @bob\n\n\\@bob \\#tag');
    expect(note.html).toBe(`<p><strong>${bobLink}</strong> <em>${tagLink('tag')}</em></p><ul><li>thanks ${bobLink}</li></ul><p>@bob #tag</p>`);
  });

  it('renders Markdown with single newlines as line breaks, then sanitises it like a remote post', async () => {
    const note = await compose('# Big news\n\nLine one\nline two *with* **style**\n\n<script>alert(1)</script><img src=x onerror=alert(1)><p onclick="x()">raw</p>');
    expect(note.html).toBe('<p>Big news</p><p>Line one<br />line two <em>with</em> <strong>style</strong></p><p>raw</p>');
  });

  it('cannot be tricked by the placeholder characters it uses internally', async () => {
    const note = await compose('\uE0000\uE001 and @bob');
    expect(note.html).toBe(`<p>0 and ${bobLink}</p>`);
  });

  it('keeps a mention as text when the directory returns a link that is not http(s)', async () => {
    const note = await compose('@eve@evil.example', {
      resolveMention: async () => ({ id: 'https://evil.example/users/eve', url: 'javascript:alert(1)', handle: '@eve@evil.example' }),
      hashtagUrl: (tag) => `https://rose.example/tags/${tag}`,
    });
    expect(note.html).toBe('<p>@eve@evil.example</p>');
    expect(note.mentions).toEqual([]);
  });

  it('treats a hashtagUrl that is not an absolute http(s) URL as a bug', async () => {
    await expect(composeNote('#tag', { resolveMention: async () => undefined, hashtagUrl: (tag) => `/tags/${tag}` })).rejects.toThrow(
      "hashtagUrl('tag') must return an absolute http(s) URL",
    );
  });

  it('passes on a failing directory rather than posting without the mention', async () => {
    const failing: ComposeOptions = {
      resolveMention: async () => {
        throw new Error('WebFinger timed out');
      },
      hashtagUrl: (tag) => `https://rose.example/tags/${tag}`,
    };
    await expect(composeNote('hi @ana@social.example', failing)).rejects.toThrow('WebFinger timed out');
  });

  it('refuses an empty post', async () => {
    expect(await composeNote('  \n\t ', directory())).toEqual({
      ok: false,
      error: { type: 'empty', message: 'The post is empty: write something before posting.' },
    });
    expect(await composeNote('![a photo](https://a.example/p.jpg) <script>x</script>', directory())).toMatchInlineSnapshot(`
      {
        "error": {
          "message": "The post has no text left once formatting is applied (images and HTML tags are not kept): write some text.",
          "type": "empty",
        },
        "ok": false,
      }
    `);
  });

  it('refuses a post over the limit, counting characters rather than UTF-16 units', async () => {
    expect(await composeNote('a'.repeat(5001), directory())).toMatchInlineSnapshot(`
      {
        "error": {
          "message": "The post is 5001 characters long and the limit is 5000: shorten it by 1 characters, or split it into a thread.",
          "type": "too-long",
        },
        "ok": false,
      }
    `);
    expect((await composeNote('a'.repeat(5000), directory())).ok).toBe(true);
    // 500 emoji are 1000 UTF-16 code units but 500 characters.
    expect((await composeNote('😀'.repeat(500), { ...directory(), maxLength: 500 })).ok).toBe(true);
    expect((await composeNote('😀'.repeat(501), { ...directory(), maxLength: 500 })).ok).toBe(false);
  });
});
