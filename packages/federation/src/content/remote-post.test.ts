import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRemotePost, sameOrigin, type ParseRemotePostOptions, type RemotePost } from './remote-post.ts';
import { sanitiseRemoteHtml } from './sanitise.ts';

const fixtureDir = new URL('./fixtures/', import.meta.url);
const fixtureFiles = readdirSync(fixtureDir).filter((file) => file.endsWith('.json'));

interface Activity {
  type: string;
  actor: string;
  object: { content?: string };
}

function fixture(name: string): Activity {
  return JSON.parse(readFileSync(new URL(name, fixtureDir), 'utf8')) as Activity;
}

function parse(json: unknown, opts?: ParseRemotePostOptions): RemotePost {
  const result = parseRemotePost(json, opts);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The important fields of each fixture, as a user would see them. */
const expected: Record<string, Partial<RemotePost>> = {
  'mastodon-public-note.json': {
    uri: 'https://mastodon.social/users/ada/statuses/113518423956327012',
    url: 'https://mastodon.social/@ada/113518423956327012',
    type: 'Note',
    actorUri: 'https://mastodon.social/users/ada',
    visibility: 'public',
    sensitive: false,
    language: 'en',
    published: new Date('2024-11-22T09:14:31Z'),
    updated: new Date('2024-11-22T09:20:02Z'),
    emojis: [{ shortcode: 'blobcat_sunglasses', url: 'https://files.mastodon.social/custom_emojis/images/000/041/243/original/4a9c1e8f2b3d5e6f.png' }],
    hashtags: ['selfhosting', 'indieweb'],
    mentions: [],
    attachments: [],
  },
  'mastodon-sensitive-image.json': {
    type: 'Note',
    actorUri: 'https://hachyderm.io/users/bruno',
    visibility: 'public',
    sensitive: true,
    summary: 'food, raw meat',
    attachments: [
      {
        url: 'https://media.hachyderm.io/media_attachments/files/113/601/872/118/204/771/original/0f8e3a5b9c1d2e4f.jpg',
        mediaType: 'image/jpeg',
        name: 'A round of steak tartare on a white plate, topped with an egg yolk, with capers and chopped shallots around it.',
        width: 1920,
        height: 1440,
        blurhash: 'UGF$hT~q9Fxu4:M{ofWB00D%ofM{%Mofoft7',
        focalPoint: [0.12, -0.38],
      },
    ],
  },
  'mastodon-reply-mention.json': {
    type: 'Note',
    actorUri: 'https://fosstodon.org/users/carmen',
    visibility: 'public',
    inReplyTo: 'https://mastodon.social/users/ada/statuses/113518423956327012',
    mentions: ['https://mastodon.social/users/ada'],
  },
  'mastodon-unlisted.json': { actorUri: 'https://mastodon.social/users/ada', visibility: 'unlisted' },
  'mastodon-followers-only.json': { visibility: 'followers', mentions: ['https://fosstodon.org/users/carmen'] },
  'mastodon-direct.json': { visibility: 'direct', mentions: ['https://rose.example/users/dora'] },
  'mastodon-question.json': {
    type: 'Question',
    visibility: 'public',
    poll: {
      options: [
        { name: 'Tomatoes', votes: 21 },
        { name: 'Courgettes', votes: 9 },
        { name: 'Sweet peas', votes: 27 },
      ],
      multiple: false,
      endTime: new Date('2024-12-02T12:33:26Z'),
      votersCount: 57,
    },
  },
  'gotosocial-note.json': {
    uri: 'https://gts.example.org/users/ferdi/statuses/01JE9Q4WJ1R3Y7K4S6M2C8V0TN',
    url: 'https://gts.example.org/@ferdi/statuses/01JE9Q4WJ1R3Y7K4S6M2C8V0TN',
    actorUri: 'https://gts.example.org/users/ferdi',
    // `to` and `cc` are single strings, `tag` a single object, the alt text is in `summary`.
    visibility: 'public',
    hashtags: ['gotosocial'],
    language: 'en',
    attachments: [
      {
        url: 'https://gts.example.org/fileserver/01H8X0GWJTE0RA0S4D2X1Y9XZQ/attachment/original/01JE9Q3Z6T3N5P0K8X2B4M6H1R.webp',
        mediaType: 'image/webp',
        name: 'Screenshot of a terminal showing a Go test run: 412 passed, 0 failed.',
        blurhash: 'LKN]Rv%2Tw=w]~RBVZRi};RPxuwH',
        focalPoint: [0, 0],
      },
    ],
  },
  'misskey-note.json': {
    uri: 'https://misskey.io/notes/a0k7w3x9pq',
    actorUri: 'https://misskey.io/users/9x2bq7kd1m',
    visibility: 'public',
    quoteUri: 'https://mastodon.social/users/ada/statuses/113518423956327012',
    hashtags: ['記事'],
    emojis: [{ shortcode: 'blobcat_thumbsup', url: 'https://media.misskeyusercontent.jp/emoji/blobcat_thumbsup.png' }],
    published: new Date('2024-12-12T03:41:08.217Z'),
  },
  'akkoma-note.json': {
    uri: 'https://akko.example.net/objects/9e0a2c4b-7d1f-4e3a-b5c6-8f9e0d1c2b3a',
    actorUri: 'https://akko.example.net/users/gwen',
    visibility: 'public',
    // `sensitive: null` and `summary: ""`.
    sensitive: false,
    hashtags: ['birdsong', 'fieldrecording'],
    attachments: [
      {
        url: 'https://akko.example.net/media/6a1f5d1e-2b7c-4e48-8f3a-d2c9a7b6e5f4/dawn-chorus.ogg',
        mediaType: 'audio/ogg',
        name: 'Dawn chorus, recorded in the back garden at 5am',
      },
    ],
  },
  'mobilizon-event.json': {
    type: 'Event',
    // The group the event belongs to; the organiser is the Create's actor.
    actorUri: 'https://mobilizon.fr/@atelier_velo',
    name: 'Atelier vélo participatif',
    startTime: new Date('2025-01-18T13:00:00Z'),
    endTime: new Date('2025-01-18T16:00:00Z'),
    location: 'Maison des Associations, 10 Rue Jangot, 69007 Lyon, Auvergne-Rhône-Alpes, France',
    language: 'fr',
    visibility: 'public',
    hashtags: ['vélo', 'réparation'],
    // The metadata PropertyValue and the online-meeting Link are not media.
    attachments: [
      {
        url: 'https://mobilizon.fr/media/4d7c2d1b3d0d1a2f6f0a9e8b7c6d5e4f3a2b1c0d.jpg?name=atelier-velo.jpg',
        mediaType: 'image/jpeg',
        name: 'Banner',
        blurhash: 'LRH2WE%Mt7WB_4WBWBj[~qWBRjay',
      },
    ],
  },
  'ghost-article.json': {
    type: 'Article',
    actorUri: 'https://www.pottingshed.blog/.ghost/activitypub/users/index',
    url: 'https://www.pottingshed.blog/what-a-cold-frame-actually-buys-you/',
    name: 'What a cold frame actually buys you',
    excerpt: 'Three winters of trial and error with a cold frame, a thermometer and far too many lettuces.',
    image: 'https://www.pottingshed.blog/content/images/2025/01/cold-frame-header.jpg',
    // Fedify compacts the public address to `as:Public`.
    visibility: 'public',
    published: new Date('2025-01-26T08:00:00Z'),
  },
};

describe('parseRemotePost on real-world payloads', () => {
  it('has expectations for every fixture', () => {
    expect(fixtureFiles.sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(fixtureFiles)('reads %s', (file) => {
    const activity = fixture(file);
    expect(activity.type).toBe('Create');
    const post = parse(activity.object);
    expect(post).toMatchObject(expected[file] ?? {});
    expect(post.contentHtml).toBe(sanitiseRemoteHtml(activity.object.content ?? ''));
    expect(post.contentHtml).not.toBe('');
    // The author's server sent it: object and author share an origin in every real payload.
    expect(sameOrigin(post.uri, post.actorUri)).toBe(true);
    expect(sameOrigin(activity.actor, post.actorUri)).toBe(true);
  });

  it('keeps the content of a Mastodon post readable and its links safe', () => {
    const post = parse(fixture('mastodon-public-note.json').object);
    expect(post.contentHtml).toContain(
      '<a href="https://ada.example.net/blog/2024/11/moving-off-wordpress" rel="nofollow noopener noreferrer ugc" target="_blank"><span class="invisible">https://</span><span class="ellipsis">ada.example.net/blog/2024/11/m</span>',
    );
    expect(post.contentHtml).toContain('<a class="mention hashtag" href="https://mastodon.social/tags/SelfHosting" rel="tag nofollow noopener noreferrer ugc" target="_blank">#<span>SelfHosting</span></a>');
    expect(post.contentHtml).not.toContain('translate');
  });

  it('drops the images and styles of a Ghost article but keeps its text', () => {
    const post = parse(fixture('ghost-article.json').object);
    expect(post.contentHtml).not.toMatch(/<img|style=|kg-/);
    expect(post.contentHtml).toContain('<p><span>The frame in January, lid propped for the afternoon.</span></p><p>What worked</p>');
    expect(post.summary).toBeUndefined();
  });
});

const base = {
  id: 'https://a.example/notes/1',
  type: 'Note',
  attributedTo: 'https://a.example/users/ana',
  content: '<p>hello</p>',
  to: ['https://www.w3.org/ns/activitystreams#Public'],
};

describe('parseRemotePost visibility', () => {
  it.each([
    ['the public address in to', { to: ['https://www.w3.org/ns/activitystreams#Public'] }, 'public'],
    ['the compacted as:Public in to', { to: 'as:Public' }, 'public'],
    ['the bare Public in to', { to: ['Public'] }, 'public'],
    ['the public address in cc', { to: ['https://a.example/users/ana/followers'], cc: 'https://www.w3.org/ns/activitystreams#Public' }, 'unlisted'],
    ['as:Public in cc', { to: [], cc: ['as:Public'] }, 'unlisted'],
    ['the followers collection in to', { to: ['https://a.example/users/ana/followers'], cc: ['https://b.example/users/bob'] }, 'followers'],
    ['the followers collection in cc', { to: ['https://b.example/users/bob'], cc: ['https://a.example/users/ana/followers'] }, 'followers'],
    ['only people', { to: ['https://b.example/users/bob'], cc: [] }, 'direct'],
    ['no addressing at all', { to: undefined }, 'direct'],
    ["someone else's followers", { to: ['https://a.example/users/eve/followers'] }, 'direct'],
  ])('reads %s', (_what, addressing, visibility) => {
    expect(parse({ ...base, ...addressing }).visibility).toBe(visibility);
  });

  it('recognises a followers collection named differently only when told about it', () => {
    const friendica = { ...base, attributedTo: 'https://f.example/profile/ana', to: ['https://f.example/followers/ana'] };
    expect(parse(friendica).visibility).toBe('direct');
    expect(parse(friendica, { followersOf: (actor) => (actor === 'https://f.example/profile/ana' ? 'https://f.example/followers/ana' : undefined) }).visibility).toBe(
      'followers',
    );
  });
});

describe('parseRemotePost leniency', () => {
  it('accepts attributedTo as a string, an object or an array, preferring a Person', () => {
    expect(parse({ ...base, attributedTo: { type: 'Person', id: 'https://a.example/users/ana' } }).actorUri).toBe('https://a.example/users/ana');
    expect(
      parse({
        ...base,
        attributedTo: [
          { type: 'Group', id: 'https://a.example/c/gardening' },
          { type: 'Person', id: 'https://a.example/users/ana' },
        ],
      }).actorUri,
    ).toBe('https://a.example/users/ana');
    expect(parse({ ...base, attributedTo: ['https://a.example/users/ana', 'https://a.example/users/bob'] }).actorUri).toBe('https://a.example/users/ana');
  });

  it('accepts the type as a compacted IRI or an array', () => {
    expect(parse({ ...base, type: 'as:Note' }).type).toBe('Note');
    expect(parse({ ...base, type: ['Article', 'https://schema.org/BlogPosting'] }).type).toBe('Article');
  });

  it('uses contentMap when content is missing, in the language asked for', () => {
    const multilingual = { ...base, content: undefined, contentMap: { de: '<p>Hallo</p>', en: '<p>Hello</p>' } };
    expect(parse(multilingual)).toMatchObject({ contentHtml: '<p>Hallo</p>', language: 'de' });
    expect(parse(multilingual, { preferredLanguages: ['fr', 'en'] })).toMatchObject({ contentHtml: '<p>Hello</p>', language: 'en' });
    expect(parse(multilingual, { preferredLanguages: ['en-GB'] })).toMatchObject({ contentHtml: '<p>Hello</p>', language: 'en' });
    expect(parse({ ...base, content: undefined }).contentHtml).toBe('');
  });

  it('sanitises the content and reduces summary and name to plain text', () => {
    const post = parse({ ...base, content: '<p>hi<script>alert(1)</script></p>', summary: '<b>spoilers</b> &amp; more', name: 'A <i>title</i>' });
    expect(post).toMatchObject({ contentHtml: '<p>hi</p>', summary: 'spoilers & more', name: 'A title' });
    // Misskey marks an empty content warning with a zero-width space.
    expect(parse({ ...base, summary: '\u200b' }).summary).toBeUndefined();
  });

  it('drops fields of the wrong type instead of the post', () => {
    const post = parse({
      ...base,
      published: 1732266871,
      updated: 'yesterday',
      sensitive: 'yes',
      url: { unexpected: true },
      inReplyTo: 42,
      tag: 'not a list',
      attachment: [null, 'https://a.example/files/x.jpg', { type: 'Document', url: 'https://a.example/files/a.jpg', width: -5, height: '300', focalPoint: [2, 0], blurhash: 'short' }],
    });
    expect(post).toMatchObject({ sensitive: false, hashtags: [], mentions: [], emojis: [], attachments: [{ url: 'https://a.example/files/a.jpg' }] });
    for (const field of ['published', 'updated', 'url', 'inReplyTo'] as const) expect(post[field]).toBeUndefined();
    expect(post.attachments[0]).toEqual({ url: 'https://a.example/files/a.jpg' });
  });

  it('keeps only http(s) URLs: attachments, emojis, mentions and links with other schemes go', () => {
    const post = parse({
      ...base,
      url: 'javascript:alert(1)',
      image: 'data:image/png;base64,AAAA',
      inReplyTo: { id: 'ftp://a.example/notes/0' },
      attachment: [
        { type: 'Document', mediaType: 'image/png', url: 'javascript:alert(1)' },
        { type: 'Document', mediaType: 'image/png', url: 'data:image/png;base64,AAAA' },
        { type: 'Image', url: [{ type: 'Link', href: 'https://a.example/files/b.png', mediaType: 'image/png' }] },
      ],
      tag: [
        { type: 'Emoji', name: ':evil:', icon: { type: 'Image', url: 'javascript:alert(1)' } },
        { type: 'Emoji', name: ':ok:', icon: { type: 'Image', url: 'https://a.example/emoji/ok.png' } },
        { type: 'Mention', href: 'mailto:bob@b.example', name: '@bob' },
        { type: 'Hashtag', name: '#Garden Tips' },
        { type: 'Hashtag', name: '#<script>' },
      ],
    });
    expect(post).toMatchObject({
      attachments: [{ url: 'https://a.example/files/b.png', mediaType: 'image/png' }],
      emojis: [{ shortcode: 'ok', url: 'https://a.example/emoji/ok.png' }],
      mentions: [],
      hashtags: ['gardentips'],
    });
    for (const field of ['url', 'image', 'inReplyTo'] as const) expect(post[field]).toBeUndefined();
  });

  it('takes inReplyTo and the quote from objects as well as strings', () => {
    const post = parse({ ...base, inReplyTo: { type: 'Note', id: 'https://b.example/notes/9' }, quote: 'https://c.example/notes/3', quoteUrl: 'https://d.example/x' });
    expect(post).toMatchObject({ inReplyTo: 'https://b.example/notes/9', quoteUri: 'https://c.example/notes/3' });
  });

  it('reads a multiple-choice poll that has closed', () => {
    const post = parse({
      ...base,
      type: 'Question',
      closed: '2024-12-01T00:00:00Z',
      endTime: '2024-12-01T00:00:00Z',
      anyOf: [
        { type: 'Note', name: 'Yes', replies: { type: 'Collection', totalItems: 3 } },
        { type: 'Note', name: 'No' },
        { type: 'Note' },
      ],
    });
    expect(post.poll).toEqual({
      options: [{ name: 'Yes', votes: 3 }, { name: 'No' }],
      multiple: true,
      endTime: new Date('2024-12-01T00:00:00Z'),
      closed: new Date('2024-12-01T00:00:00Z'),
    });
    expect(post.endTime).toBeUndefined();
  });

  it('reads a location given as text', () => {
    expect(parse({ ...base, type: 'Event', location: 'The village hall' }).location).toBe('The village hall');
  });

  it('keeps a long-form summary as the excerpt, not as a content warning', () => {
    const article = parse({ ...base, type: 'Article', summary: 'What this is about' });
    expect([article.excerpt, article.summary]).toEqual(['What this is about', undefined]);
    const note = parse({ ...base, summary: 'spoilers' });
    expect([note.excerpt, note.summary]).toEqual([undefined, 'spoilers']);
  });

  it('bounds lists and text a hostile server could make huge', () => {
    const post = parse({
      ...base,
      name: 'x'.repeat(5000),
      tag: Array.from({ length: 100 }, (_, i) => ({ type: 'Hashtag', name: `#t${i}` })),
      attachment: Array.from({ length: 100 }, (_, i) => ({ type: 'Document', url: `https://a.example/${i}.png` })),
    });
    expect(Array.from(post.name ?? '')).toHaveLength(1000);
    expect(post.hashtags).toHaveLength(20);
    expect(post.attachments).toHaveLength(20);
  });
});

describe('parseRemotePost rejections', () => {
  it.each([
    ['a string', 'https://a.example/notes/1'],
    ['null', null],
    ['an array', [base]],
    ['a missing id', { ...base, id: undefined }],
    ['a javascript: id', { ...base, id: 'javascript:alert(1)' }],
    ['a relative id', { ...base, id: '/notes/1' }],
    ['a missing attributedTo', { ...base, attributedTo: undefined }],
    ['an attributedTo with no usable id', { ...base, attributedTo: [{ type: 'Person' }, 'mailto:ana@a.example'] }],
    ['an actor instead of a post', { ...base, type: 'Person' }],
    ['an activity instead of a post', { ...base, type: 'Like' }],
    ['no type', { ...base, type: undefined }],
  ])('rejects %s', (_what, json) => {
    const result = parseRemotePost(json);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.type).toBe('invalid');
  });

  it('says what was wrong', () => {
    expect(parseRemotePost({ ...base, id: 'javascript:alert(1)' })).toMatchInlineSnapshot(`
      {
        "error": {
          "message": "The post has no valid id (an absolute http(s) URL): got "javascript:alert(1)".",
          "type": "invalid",
        },
        "ok": false,
      }
    `);
    expect(parseRemotePost({ ...base, type: 'Person' })).toMatchInlineSnapshot(`
      {
        "error": {
          "message": "https://a.example/notes/1 is of type "Person", not a post (Note, Article, Page, Question, Event, Video, Audio, Image).",
          "type": "invalid",
        },
        "ok": false,
      }
    `);
    expect(parseRemotePost({ ...base, attributedTo: undefined })).toMatchInlineSnapshot(`
      {
        "error": {
          "message": "https://a.example/notes/1 has no valid attributedTo (an actor's http(s) id): got undefined.",
          "type": "invalid",
        },
        "ok": false,
      }
    `);
  });
});

describe('sameOrigin', () => {
  it.each([
    ['https://a.example/notes/1', 'https://a.example/users/ana', true],
    ['https://A.EXAMPLE/x', 'https://a.example:443/y', true],
    ['https://bücher.example/x', 'https://xn--bcher-kva.example/y', true],
    ['http://a.example/x', 'https://a.example/x', false],
    ['https://a.example/x', 'https://a.example:8443/x', false],
    ['https://a.example/x', 'https://evil.a.example/x', false],
    ['https://a.example.evil.example/x', 'https://a.example/x', false],
    ['javascript:alert(1)', 'javascript:alert(2)', false],
    ['not a url', 'not a url', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameOrigin(a, b)).toBe(same);
  });
});
