import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createFixedClock } from '@rose/core';
import { createGhostAdminClient, type GhostAdminClientOptions } from './ghost-admin.client.ts';
import { GhostApiError } from './ghost-api.error.ts';
import { fixture, recordingSleep, startReplayServer, type Reply, type ReplayServer, type SeenRequest } from './ghost-replay.fixture.ts';

const keyId = '6751a001e4b0f10001a1a0ff';
const secretHex = '5c3f9e1d2b4a6c8e0f1a3b5d7e9f2c4a6b8d0e2f4a6c8e0a2b4d6f8a0c2e4f6a';
const adminKey = `${keyId}:${secretHex}`;
const clock = createFixedClock(new Date('2026-11-24T10:15:00.250Z'));

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientFor(respond: (req: SeenRequest) => Reply, opts: Partial<GhostAdminClientOptions> = {}) {
  server = await startReplayServer(respond);
  const { sleep, waits } = recordingSleep();
  // random 0: no jitter taken off, so the waits are exactly the back-off.
  const client = createGhostAdminClient({ url: server.url, adminKey, clock, sleep, random: () => 0, ...opts });
  return { client, waits, requests: server.requests };
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

function decodeToken(authorization: string | string[] | undefined) {
  expect(authorization).toMatch(/^Ghost [\w-]+\.[\w-]+\.[\w-]+$/);
  const token = String(authorization).slice('Ghost '.length);
  const [header = '', payload = '', signature = ''] = token.split('.');
  const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: json(header), payload: json(payload), signature, signed: `${header}.${payload}` };
}

describe('admin client: authentication', () => {
  it('sends an HS256 token Ghost accepts: kid, iat, exp = iat + 300, aud /admin/, signed with the hex-decoded secret', async () => {
    const { client, requests } = await clientFor(() => ({ status: 200, json: fixture('admin-site.json') }));
    const site = await client.site();

    expect(site).toMatchObject({ title: 'Mill Lane Co-op', url: 'https://news.coop.example/', version: '6.65' });
    const req = requests[0]!;
    expect(req.url.pathname).toBe('/ghost/api/admin/site/');
    expect(req.headers['accept-version']).toBe('v6.0');
    const token = decodeToken(req.headers.authorization);
    expect(token.header).toEqual({ alg: 'HS256', typ: 'JWT', kid: keyId });
    const iat = Math.floor(Date.parse('2026-11-24T10:15:00.250Z') / 1000);
    expect(token.payload).toEqual({ iat, exp: iat + 300, aud: '/admin/' });
    const expected = createHmac('sha256', Buffer.from(secretHex, 'hex')).update(token.signed).digest('base64url');
    expect(token.signature).toBe(expected);
    // Signing with the hex text instead of its bytes is the classic mistake; make sure we did not.
    expect(token.signature).not.toBe(createHmac('sha256', secretHex).update(token.signed).digest('base64url'));
  });

  it('signs a fresh token for every request', async () => {
    const { client, requests } = await clientFor(() => ({ status: 200, json: fixture('admin-site.json') }));
    await client.site();
    clock.advance(400_000);
    await client.site();
    const [first, second] = requests.map((r) => decodeToken(r.headers.authorization).payload);
    expect(Number(second?.iat) - Number(first?.iat)).toBe(400);
  });

  it('reports a rejected token as unauthorized, naming GHOST_ADMIN_KEY and leaking no part of the key', async () => {
    const { client, requests } = await clientFor(() => ({ status: 401, json: fixture('error-admin-unauthorized.json') }));
    const error = await failure(client.site());

    expect(error.kind).toBe('unauthorized');
    expect(requests).toHaveLength(1);
    expect(error.message.replace(server!.url, 'http://ghost')).toMatchInlineSnapshot(
      `"Ghost at http://ghost/ rejected the Admin API key (HTTP 401 for GET /ghost/api/admin/site/: Invalid token: invalid signature). Check GHOST_ADMIN_KEY."`,
    );
    const everything = `${error.message} ${error.hint} ${JSON.stringify(error)} ${error.stack}`;
    expect(everything).not.toContain(secretHex);
  });
});

describe('admin client: webhooks', () => {
  it('creates a webhook and drops the secret Ghost echoes back', async () => {
    const { client, requests } = await clientFor(() => ({ status: 201, json: fixture('admin-webhook-created.json') }));
    const webhook = await client.createWebhook({
      event: 'post.published',
      targetUrl: 'https://rose.coop.example/hooks/ghost',
      name: 'Rose Ash sync',
      secret: 'wh-secret-echoed-by-ghost',
    });

    expect(webhook).toEqual({
      id: '6751c9e8e4b0f10001a1d001',
      event: 'post.published',
      target_url: 'https://rose.coop.example/hooks/ghost',
      name: 'Rose Ash sync',
      integration_id: '6751a001e4b0f10001a1a001',
      created_at: new Date('2026-11-24T10:15:00.000Z'),
      updated_at: new Date('2026-11-24T10:15:00.000Z'),
    });
    const req = requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url.pathname).toBe('/ghost/api/admin/webhooks/');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({
      webhooks: [
        { event: 'post.published', target_url: 'https://rose.coop.example/hooks/ghost', name: 'Rose Ash sync', secret: 'wh-secret-echoed-by-ghost' },
      ],
    });
    expect(decodeToken(req.headers.authorization).header.kid).toBe(keyId);
  });

  it('does not repeat a create once Ghost may have acted on it (5xx), so no duplicate webhooks', async () => {
    const { client, requests } = await clientFor(() => ({ status: 503, body: '' }));
    const error = await failure(client.createWebhook({ event: 'post.published', targetUrl: 'https://rose.coop.example/hooks/ghost' }));
    expect(error.kind).toBe('server');
    expect(requests).toHaveLength(1);
  });

  it('does not repeat a create that timed out either', async () => {
    const { client, requests } = await clientFor(() => 'hang', { timeoutMs: 300 });
    const error = await failure(client.createWebhook({ event: 'post.published', targetUrl: 'https://rose.coop.example/hooks/ghost' }));
    expect(error.kind).toBe('timeout');
    expect(error.attempts).toBe(1);
    // On a busy machine the attempt may time out before the server has read it.
    expect(requests.length).toBeLessThanOrEqual(1);
  });

  it('does retry a create that never reached Ghost (connection refused)', async () => {
    server = await startReplayServer(() => 'hang');
    const url = server.url;
    await server.close();
    server = undefined;
    const { sleep, waits } = recordingSleep();
    const client = createGhostAdminClient({ url, adminKey, clock, sleep, random: () => 0, retries: 2 });
    const error = await failure(client.createWebhook({ event: 'post.published', targetUrl: 'https://rose.coop.example/hooks/ghost' }));
    expect(error.kind).toBe('network');
    expect(error.attempts).toBe(3);
    expect(waits).toEqual([250, 500]);
  });

  it('passes on Ghost\'s reason when it refuses a duplicate webhook', async () => {
    const { client } = await clientFor(() => ({ status: 422, json: fixture('error-webhook-exists.json') }));
    const error = await failure(client.createWebhook({ event: 'post.published', targetUrl: 'https://rose.coop.example/hooks/ghost' }));
    expect(error.kind).toBe('rejected');
    expect(error.status).toBe(422);
    expect(error.message).toContain('Target URL has already been used for this event.');
  });

  it('reports a redirect on a write instead of letting fetch turn the POST into a GET', async () => {
    const { client, requests } = await clientFor(() => ({ status: 301, headers: { location: 'https://news.coop.example/ghost/api/admin/webhooks/' }, body: '' }));
    const error = await failure(client.createWebhook({ event: 'post.published', targetUrl: 'https://rose.coop.example/hooks/ghost' }));
    expect(error.kind).toBe('not-found');
    expect(error.message).toContain('redirects POST /ghost/api/admin/webhooks/ to https://news.coop.example/ghost/api/admin/webhooks/');
    expect(requests).toHaveLength(1);
  });

  it('deletes a webhook, and says "already-gone" when Ghost no longer has it', async () => {
    let calls = 0;
    const { client, requests } = await clientFor(() =>
      ++calls === 1 ? { status: 204 } : { status: 404, json: fixture('error-webhook-not-found.json') },
    );
    expect(await client.deleteWebhook('6751c9e8e4b0f10001a1d001')).toBe('deleted');
    expect(await client.deleteWebhook('6751c9e8e4b0f10001a1d001')).toBe('already-gone');
    expect(requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual([
      'DELETE /ghost/api/admin/webhooks/6751c9e8e4b0f10001a1d001/',
      'DELETE /ghost/api/admin/webhooks/6751c9e8e4b0f10001a1d001/',
    ]);
  });

  it('still reports a 404 from something that is not Ghost as a wrong GHOST_URL', async () => {
    const { client } = await clientFor(() => ({ status: 404, body: fixture('not-ghost-404.html') as string }));
    const error = await failure(client.deleteWebhook('6751c9e8e4b0f10001a1d001'));
    expect(error.kind).toBe('not-found');
    expect(error.message).toContain('GHOST_URL');
  });

  it('reports a site answer without a version as malformed, naming the field', async () => {
    const { client } = await clientFor(() => {
      const body = fixture('admin-site.json') as { site: Record<string, unknown> };
      delete body.site.version;
      return { status: 200, json: body };
    });
    const error = await failure(client.site());
    expect(error.kind).toBe('malformed');
    expect(error.problems).toEqual(['site.version: Invalid input: expected string, received undefined']);
  });
});

describe('admin client: key validation', () => {
  const attempt = (value: string) => {
    try {
      createGhostAdminClient({ url: 'https://news.coop.example', adminKey: value });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain(value.trim() || '\u0000');
      return (error as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('explains what is wrong with the key without repeating it', () => {
    expect(attempt('')).toMatchInlineSnapshot(`"GHOST_ADMIN_KEY is empty."`);
    expect(attempt('a1b2c3d4e5f60718293a4b5c6d')).toMatchInlineSnapshot(
      `"GHOST_ADMIN_KEY looks like a Content API key (26 hex characters, no ":"); the Admin API needs the Admin API key."`,
    );
    expect(attempt('not-a-key-at-all')).toMatchInlineSnapshot(`"GHOST_ADMIN_KEY must be "<id>:<secret>", but it has no ":" (16 characters)."`);
    expect(attempt(`6751a001:${secretHex}`)).toMatchInlineSnapshot(
      `"GHOST_ADMIN_KEY: the part before ":" must be 24 hex characters (Ghost's key id), got 8 characters."`,
    );
    expect(attempt(`${keyId}:${secretHex.slice(0, 63)}`)).toMatchInlineSnapshot(
      `"GHOST_ADMIN_KEY: the part after ":" must be the hex secret (64 hex characters), got 63 characters."`,
    );
    expect(attempt(`${keyId}:${'zz'.repeat(32)}`)).toMatchInlineSnapshot(
      `"GHOST_ADMIN_KEY: the part after ":" must be the hex secret (64 hex characters), got 64 characters, not all hex."`,
    );
  });
});

describe('admin client: gated bodies', () => {
  const id = (n: number) => `6751b3d4e4b0f10001a1${String(n).padStart(4, '0')}`;

  it('reads whole bodies (members-only marker included) by id, a few dozen ids per request', async () => {
    const { client, requests } = await clientFor((req) => {
      const ids = /^id:\[(.*)\]$/.exec(req.url.searchParams.get('filter') ?? '')![1]!.split(',');
      return {
        status: 200,
        json: {
          posts: ids.map((i) => ({ id: i, status: 'published', visibility: 'members', html: '<p>Teaser.</p><!--members-only--><p>Rest.</p>' })),
          meta: { pagination: { page: 1, limit: 100, pages: 1, total: ids.length, next: null, prev: null } },
        },
      };
    });
    const ids = Array.from({ length: 60 }, (_, n) => id(n));
    const bodies = await client.bodiesByIds('posts', ids);
    expect(bodies).toHaveLength(60);
    expect(bodies[0]).toEqual({ id: id(0), status: 'published', visibility: 'members', html: '<p>Teaser.</p><!--members-only--><p>Rest.</p>' });
    expect(requests.map((r) => [r.url.pathname, r.url.searchParams.get('formats'), r.url.searchParams.get('fields'), r.url.searchParams.get('filter')!.split(',').length])).toEqual([
      ['/ghost/api/admin/posts/', 'html', 'id,status,visibility,html', 50],
      ['/ghost/api/admin/posts/', 'html', 'id,status,visibility,html', 10],
    ]);
    expect(decodeToken(requests[0]!.headers.authorization).header).toMatchObject({ kid: keyId });
  });

  it('refuses anything but Ghost ids before sending a request', async () => {
    const { client, requests } = await clientFor(() => ({ status: 500, body: '' }));
    await expect(client.bodiesByIds('pages', ["x] ,status:'draft"])).rejects.toThrow(RangeError);
    expect(requests).toEqual([]);
  });
});
