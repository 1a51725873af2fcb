import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@rose/core';
import { createGhostContentClient, type GhostContentClientOptions } from './ghost-content.client.ts';
import { GhostApiError } from './ghost-api.error.ts';
import { fixture, recordingSleep, startReplayServer, type Reply, type ReplayServer, type SeenRequest } from './ghost-replay.fixture.ts';

const key = 'a1b2c3d4e5f60718293a4b5c6d';

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientFor(respond: (req: SeenRequest) => Reply, opts: Partial<GhostContentClientOptions> = {}) {
  server = await startReplayServer(respond);
  const { sleep, waits } = recordingSleep();
  // random 0: no jitter taken off, so the waits are exactly the back-off.
  const client = createGhostContentClient({ url: server.url, key, sleep, random: () => 0, ...opts });
  return { client, waits, requests: server.requests };
}

/** Answers `GET .../<resource>/?page=n` from `<prefix>-page-<n>.json`. */
const pagedFixtures = (prefix: string) => (req: SeenRequest): Reply => ({
  status: 200,
  json: fixture(`${prefix}-page-${req.url.searchParams.get('page')}.json`),
});

async function collect<T>(batches: AsyncIterable<T[]>): Promise<T[][]> {
  const all: T[][] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

async function failure(promise: Promise<unknown>): Promise<GhostApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GhostApiError) return error;
    throw error;
  }
  throw new Error('expected a GhostApiError, but the call succeeded');
}

describe('content client: posts and pages', () => {
  it('follows meta.pagination.next across three pages, 100 at a time, with tags, authors and html', async () => {
    const { client, requests } = await clientFor(pagedFixtures('posts'));
    const batches = await collect(client.posts());

    expect(batches.map((batch) => batch.map((p) => p.slug))).toEqual([
      ['harvest-supper-2026', 'agm-minutes-2026'],
      ['members-only-budget', 'new-bakery-oven'],
      ['winter-opening-hours', 'welcome'],
    ]);
    expect(requests.map((r) => r.url.searchParams.get('page'))).toEqual(['1', '2', '3']);
    for (const req of requests) {
      expect(req.method).toBe('GET');
      expect(req.url.pathname).toBe('/ghost/api/content/posts/');
      expect(Object.fromEntries(req.url.searchParams)).toMatchObject({ limit: '100', include: 'tags,authors', formats: 'html', key });
      expect(req.url.searchParams.has('filter')).toBe(false);
      expect(req.headers['accept-version']).toBe('v6.0');
    }
  });

  it('turns Ghost dates with a timezone offset into the right instants and keeps the fields sync relies on', async () => {
    const { client } = await clientFor(pagedFixtures('posts'));
    const [[first, second] = [], [membersOnly] = []] = await collect(client.posts());

    expect(first?.updated_at.toISOString()).toBe('2026-08-21T13:05:31.000Z');
    expect(first?.published_at?.toISOString()).toBe('2026-08-20T08:00:00.000Z');
    expect(first).toMatchObject({
      featured: true,
      custom_excerpt: 'Three courses from member farms, 12 September.',
      feature_image_alt: 'Long tables set in a barn',
      primary_tag: { slug: 'events' },
    });
    expect(first?.tags.map((t) => t.slug)).toEqual(['events', 'news']);
    expect(second?.authors.map((a) => a.slug)).toEqual(['sam', 'jo']);
    expect(second?.tags.find((t) => t.visibility === 'internal')?.name).toBe('#featured-banner');
    // Fields we do not model are dropped rather than rejected.
    expect(first).not.toHaveProperty('codeinjection_head');
    // Gated content arrives emptied; sync must not mistake it for an empty post.
    expect(membersOnly).toMatchObject({ visibility: 'members', access: false, html: '' });
  });

  it('asks only for what changed since a date, in the UTC "YYYY-MM-DD HH:MM:SS" form Ghost compares correctly', async () => {
    const { client, requests } = await clientFor(() => ({ status: 200, json: fixture('pages.json') }));
    const batches = await collect(client.pages({ updatedSince: new Date('2026-05-02T08:00:00.789+01:00') }));

    expect(batches.flat().map((p) => p.slug)).toEqual(['about', 'contact']);
    expect(requests).toHaveLength(1);
    const req = requests[0]!;
    expect(req.url.pathname).toBe('/ghost/api/content/pages/');
    expect(req.url.searchParams.get('filter')).toBe("updated_at:>='2026-05-02 07:00:00'");
    // Encoded with %20, not "+", so no proxy can read the space differently.
    expect(req.url.search).toContain('filter=updated_at%3A%3E%3D%272026-05-02%2007%3A00%3A00%27');
    expect(req.url.search).not.toContain('+');
  });

  it('puts the site subdirectory in front of the API path', async () => {
    server = await startReplayServer((req) =>
      req.url.pathname === '/blog/ghost/api/content/pages/' ? { status: 200, json: fixture('pages.json') } : { status: 404, body: '' },
    );
    const client = createGhostContentClient({ url: `${server.url}/blog`, key });
    expect((await collect(client.pages())).flat()).toHaveLength(2);
  });

  it('stops with a malformed error instead of looping when next does not move forward', async () => {
    const { client } = await clientFor(() => {
      const page = fixture('posts-page-2.json') as { meta: { pagination: { next: number } } };
      page.meta.pagination.next = 1;
      return { status: 200, json: page };
    });
    const error = await failure(collect(client.posts()));
    expect(error.kind).toBe('malformed');
    expect(error.problems).toEqual(['meta.pagination.next: 1 is not after page 1']);
  });
});

describe('content client: ids, tags, authors, settings', () => {
  it('lists every post id with its updated_at, tags and authors across pages, asking only for those', async () => {
    const { client, requests } = await clientFor(pagedFixtures('post-ids'));
    const ids = await client.postIds();

    expect(ids).toHaveLength(6);
    expect(ids[0]).toMatchObject({ id: '6751b3d4e4b0f10001a1c001', updated_at: new Date('2026-08-21T13:05:31.000Z') });
    // Internal (#) tags come too: Ghost's tag list leaves them out.
    expect(ids[0]!.tags.map((t) => [t.slug, t.visibility])).toEqual([
      ['market', 'public'],
      ['hash-hidden', 'internal'],
    ]);
    expect(ids[0]!.authors.map((a) => a.slug)).toEqual(['ann']);
    expect(requests.map((r) => [r.url.searchParams.get('fields'), r.url.searchParams.get('include'), r.url.searchParams.get('page')])).toEqual([
      ['id,updated_at', 'tags,authors', '1'],
      ['id,updated_at', 'tags,authors', '2'],
    ]);
  });

  it('lists page ids from the pages endpoint', async () => {
    const { client, requests } = await clientFor(() => ({
      status: 200,
      json: { pages: [{ id: '6751b3d4e4b0f10001a1c050', updated_at: '2026-05-02T09:00:00.000+01:00', tags: [], authors: [] }], meta: { pagination: { page: 1, limit: 100, pages: 1, total: 1, next: null, prev: null } } },
    }));
    expect(await client.pageIds()).toEqual([{ id: '6751b3d4e4b0f10001a1c050', updated_at: new Date('2026-05-02T08:00:00.000Z'), tags: [], authors: [] }]);
    expect(requests[0]?.url.pathname).toBe('/ghost/api/content/pages/');
  });

  it('collects all tags and authors and reads the settings', async () => {
    const { client, requests } = await clientFor((req) => {
      const path = req.url.pathname;
      if (path.endsWith('/tags/')) return { status: 200, json: fixture(`tags-page-${req.url.searchParams.get('page')}.json`) };
      if (path.endsWith('/authors/')) return { status: 200, json: fixture('authors.json') };
      if (path.endsWith('/settings/')) return { status: 200, json: fixture('settings.json') };
      return { status: 404, body: '' };
    });

    expect((await client.tags()).map((t) => t.slug)).toEqual(['events', 'news', 'bakery']);
    const authors = await client.authors();
    expect(authors[0]).toEqual({
      id: '6751a0c2e4b0f10001a1b101',
      slug: 'jo',
      name: 'Jo Baker',
      bio: 'Bakes bread, writes the newsletter.',
      profile_image: 'https://news.coop.example/content/images/2025/01/jo.jpg',
      website: 'https://jo.example',
      location: 'Leeds',
      cover_image: null,
      url: 'https://news.coop.example/author/jo/',
    });
    const settings = await client.settings();
    expect(settings).toMatchObject({ title: 'Mill Lane Co-op', lang: 'en-gb', timezone: 'Europe/London' });
    expect(settings.navigation).toEqual([
      { label: 'Home', url: '/' },
      { label: 'About', url: '/about/' },
      { label: 'Events', url: '/tag/events/' },
    ]);
    expect(settings.secondary_navigation).toHaveLength(2);
    expect(requests.filter((r) => r.url.pathname.endsWith('/tags/'))).toHaveLength(2);
    expect(requests.every((r) => r.url.searchParams.get('key') === key)).toBe(true);
  });
});

describe('content client: failures', () => {
  it('reports a rejected key as unauthorized, naming GHOST_CONTENT_KEY and never the key, without retrying', async () => {
    const { client, requests } = await clientFor(() => ({ status: 401, json: fixture('error-content-unauthorized.json') }));
    const error = await failure(client.settings());

    expect(error.kind).toBe('unauthorized');
    expect(error.status).toBe(401);
    expect(requests).toHaveLength(1);
    expect(error.message.replace(server!.url, 'http://ghost')).toMatchInlineSnapshot(
      `"Ghost at http://ghost/ rejected the Content API key (HTTP 401 for GET /ghost/api/content/settings/: Unknown Content API Key). Check GHOST_CONTENT_KEY."`,
    );
    const everything = `${error.message} ${error.hint} ${error.endpoint} ${JSON.stringify(error)} ${error.stack}`;
    expect(everything).not.toContain(key);
  });

  it('redacts the key even when the server repeats it', async () => {
    const { client } = await clientFor(() => ({ status: 403, json: { errors: [{ message: `Key ${key} is disabled` }] } }));
    const error = await failure(client.tags());
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toContain('Key **** is disabled');
    expect(error.message).not.toContain(key);
  });

  it('says GHOST_URL is not a Ghost site when the API root answers 404', async () => {
    const { client } = await clientFor(() => ({ status: 404, body: fixture('not-ghost-404.html') as string }));
    const error = await failure(collect(client.posts()));

    expect(error.kind).toBe('not-found');
    expect(error.message.replace(server!.url, 'http://ghost')).toMatchInlineSnapshot(
      `"GHOST_URL (http://ghost/) does not look like a Ghost site: GET /ghost/api/content/posts/ answered 404."`,
    );
  });

  it('retries 5xx with exponential backoff and succeeds when Ghost recovers', async () => {
    let calls = 0;
    const { client, waits, requests } = await clientFor(() =>
      ++calls <= 2 ? { status: 500, json: fixture('error-internal.json') } : { status: 200, json: fixture('settings.json') },
    );
    expect((await client.settings()).title).toBe('Mill Lane Co-op');
    expect(requests).toHaveLength(3);
    expect(waits).toEqual([250, 500]);
  });

  it('gives up with a server error after retries + 1 attempts', async () => {
    const { client, waits, requests } = await clientFor(() => ({ status: 502, body: 'Bad Gateway', contentType: 'text/plain' }), {
      retries: 2,
      backoffMs: 10,
    });
    const error = await failure(client.authors());

    expect(error.kind).toBe('server');
    expect(error.status).toBe(502);
    expect(error.attempts).toBe(3);
    expect(requests).toHaveLength(3);
    expect(waits).toEqual([10, 20]);
    expect(error.message).toContain('(HTTP 502) (3 attempts)');
  });

  it('waits as long as Retry-After says on 429', async () => {
    let calls = 0;
    const { client, waits } = await clientFor(() =>
      ++calls === 1 ? { status: 429, headers: { 'retry-after': '2' }, body: '' } : { status: 200, json: fixture('authors.json') },
    );
    expect(await client.authors()).toHaveLength(2);
    expect(waits).toEqual([2000]);
  });

  it('stops at the deadline rather than wait past it for another attempt', async () => {
    const { client, waits, requests } = await clientFor(() => ({ status: 503, body: '' }), { deadlineMs: 5_000, backoffMs: 10_000 });
    const error = await failure(client.settings());
    expect(error.kind).toBe('timeout');
    expect(requests).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(error.message.replace(server!.url, 'http://ghost')).toMatchInlineSnapshot(`"Ghost at http://ghost/ did not answer GET /ghost/api/content/settings/ successfully within the 5000 ms deadline (last answer: HTTP 503)."`);
  });

  it('times out a Ghost that never answers, retrying first', async () => {
    const { client, requests } = await clientFor(() => 'hang', { timeoutMs: 300, retries: 1 });
    const started = performance.now();
    const error = await failure(client.settings());

    expect(error.kind).toBe('timeout');
    expect(error.attempts).toBe(2);
    // On a busy machine an attempt may time out before the server has read it.
    expect(requests.length).toBeLessThanOrEqual(2);
    expect(error.message).toContain('within 300 ms');
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('reports dropped connections as a network error after retrying', async () => {
    const { client, requests } = await clientFor(() => 'reset', { retries: 1 });
    const error = await failure(client.settings());
    expect(error.kind).toBe('network');
    expect(requests).toHaveLength(2);
    expect(error.hint).toContain('GHOST_URL');
  });

  it('reports a closed port as a network error naming the cause', async () => {
    server = await startReplayServer(() => 'hang');
    const url = server.url;
    await server.close();
    server = undefined;
    const client = createGhostContentClient({ url, key, retries: 0 });
    const error = await failure(client.settings());
    expect(error.kind).toBe('network');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('reports an answer that is not JSON as malformed', async () => {
    const { client, requests } = await clientFor(() => ({ status: 200, body: '<html>Sign in to the proxy</html>' }));
    const error = await failure(client.settings());
    expect(error.kind).toBe('malformed');
    expect(error.message).toContain('not JSON (content-type text/html)');
    expect(requests).toHaveLength(1);
  });

  it('reports a schema mismatch as malformed, naming the field and the page', async () => {
    const { client } = await clientFor((req) => {
      const page = fixture(`posts-page-${req.url.searchParams.get('page')}.json`) as { posts: Array<Record<string, unknown>> };
      if (req.url.searchParams.get('page') === '2') page.posts[1]!.slug = 42;
      return { status: 200, json: page };
    });
    const seen: string[] = [];
    const error = await failure(
      (async () => {
        for await (const batch of client.posts()) seen.push(...batch.map((p) => p.slug));
      })(),
    );

    expect(seen).toEqual(['harvest-supper-2026', 'agm-minutes-2026']);
    expect(error.kind).toBe('malformed');
    expect(error.problems).toEqual(['posts[1].slug: Invalid input: expected string, received number']);
    expect(error.message).toContain('GET /ghost/api/content/posts/ (page 2) with data we cannot use: posts[1].slug');
  });

  it('treats other 4xx answers as rejected, with Ghost\'s reason, and does not retry', async () => {
    const { client, requests } = await clientFor(() => ({
      status: 400,
      json: { errors: [{ message: 'Error parsing filter', type: 'BadRequestError' }] },
    }));
    const error = await failure(collect(client.posts({ updatedSince: new Date('2026-01-01T00:00:00Z') })));
    expect(error.kind).toBe('rejected');
    expect(error.message).toContain('(HTTP 400: Error parsing filter)');
    expect(requests).toHaveLength(1);
  });
});

describe('content client: configuration', () => {
  it('refuses an empty key, an Admin API key and a URL that is not http(s)', () => {
    expect(() => createGhostContentClient({ url: 'https://news.coop.example', key: ' ' })).toThrow(ConfigError);
    const adminKey = `6751a001e4b0f10001a1a001:${'ab'.repeat(32)}`;
    expect(() => createGhostContentClient({ url: 'https://news.coop.example', key: adminKey })).toThrow(/looks like an Admin API key/);
    expect(() => createGhostContentClient({ url: 'news.coop.example', key })).toThrow(/GHOST_URL/);
    expect(() => createGhostContentClient({ url: 'ftp://news.coop.example', key })).toThrow(/http:\/\/ or https:\/\//);
  });
});
