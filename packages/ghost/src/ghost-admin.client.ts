import { z } from 'zod';
import { systemClock, type Clock } from '@rose/core';
import { parseAdminKey, signAdminToken } from './admin-token.ts';
import { createTransport, endpointOf, parseAnswer, send } from './ghost-http.ts';
import { ghostAdminBodySchema, ghostSiteSchema, ghostWebhookSchema, type GhostAdminBody, type GhostSite, type GhostWebhook, type GhostWebhookEvent } from './ghost.types.ts';

export interface GhostAdminClientOptions {
  /** The site address (GHOST_URL); may include a subdirectory. */
  readonly url: string;
  /** The Admin API key (GHOST_ADMIN_KEY), `"<id>:<hex secret>"`. */
  readonly adminKey: string;
  readonly fetch?: typeof fetch;
  /** Per attempt, body included. Default 10 000. */
  readonly timeoutMs?: number;
  /** Extra attempts after a network error, timeout, 5xx or 429 (writes: see `createWebhook`). Default 3. */
  readonly retries?: number;
  /** First backoff; doubles on each retry, less a random share (jitter). Default 250. */
  readonly backoffMs?: number;
  /** For one call, attempts and waits included (a paged listing has one per page). Default 60 000. */
  readonly deadlineMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source for retry waits, [0, 1) like Math.random; tests pin it. */
  readonly random?: () => number;
  /** Sets the tokens' `iat`; tests pass a fixed clock. */
  readonly clock?: Clock;
}

export interface CreateWebhookInput {
  readonly event: GhostWebhookEvent;
  /** Where Ghost POSTs the event; must be reachable from Ghost. */
  readonly targetUrl: string;
  readonly name?: string;
  /** Ghost signs deliveries with it (`X-Ghost-Signature`); see `verifyGhostSignature`. */
  readonly secret?: string;
}

export interface GhostAdminClient {
  /** Title, url and version (`major.minor`) of the site: a cheap check that URL and key work. */
  site(): Promise<GhostSite>;
  /**
   * Registers a webhook on the integration that owns the key. Not retried once Ghost may have
   * received it (a repeat would be refused as a duplicate): a 422 `rejected` error means a
   * webhook for this event and URL exists already.
   */
  createWebhook(input: CreateWebhookInput): Promise<GhostWebhook>;
  /** `'already-gone'` when Ghost says there is no such webhook, so deleting twice is safe. */
  deleteWebhook(id: string): Promise<'deleted' | 'already-gone'>;
  /**
   * The whole HTML of these posts (or pages) as staff see it, members-only part and
   * `<!--members-only-->` marker included: what the Content API withholds from gated posts.
   * Ids Ghost does not know are left out.
   */
  bodiesByIds(resource: 'posts' | 'pages', ids: string[]): Promise<GhostAdminBody[]>;
}

/** Ids per request: the filter travels in the query string, and one page (100) holds them all. */
const idsPerRequest = 50;

const adminRoot = 'ghost/api/admin/';

/**
 * A client for the few Admin API calls sync needs (site check, webhooks, gated bodies). Every request carries a fresh token.
 *
 * @example
 * const admin = createGhostAdminClient({ url: 'https://news.coop.example', adminKey });
 * const hook = await admin.createWebhook({ event: 'post.published', targetUrl, secret });
 */
export function createGhostAdminClient(opts: GhostAdminClientOptions): GhostAdminClient {
  const key = parseAdminKey(opts.adminKey);
  const clock = opts.clock ?? systemClock;
  const t = createTransport({ ...opts, setting: 'GHOST_ADMIN_KEY', secrets: [opts.adminKey.trim(), key.secret.toString('hex')] });
  const headers = () => ({ Authorization: `Ghost ${signAdminToken(key, clock.now())}` });

  return {
    site: async () => {
      const path = `${adminRoot}site/`;
      const answer = await send(t, { method: 'GET', path, headers, idempotent: true });
      return parseAnswer(t, z.object({ site: ghostSiteSchema }), answer.body, { endpoint: endpointOf(t, 'GET', path) }).site;
    },
    createWebhook: async (input) => {
      const path = `${adminRoot}webhooks/`;
      const webhook = {
        event: input.event,
        target_url: input.targetUrl,
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.secret === undefined ? {} : { secret: input.secret }),
      };
      const answer = await send(t, { method: 'POST', path, headers, body: { webhooks: [webhook] }, idempotent: false });
      // Ghost echoes the secret back; the schema drops it.
      const parsed = parseAnswer(t, z.object({ webhooks: z.tuple([ghostWebhookSchema], z.unknown()) }), answer.body, {
        endpoint: endpointOf(t, 'POST', path),
      });
      return parsed.webhooks[0];
    },
    bodiesByIds: async (resource, ids) => {
      const bad = ids.find((id) => !/^[0-9a-f]{24}$/.test(id));
      if (bad !== undefined) throw new RangeError(`Not a Ghost id: ${JSON.stringify(bad).slice(0, 40)}`);
      const path = `${adminRoot}${resource}/`;
      const schema = z.object({ [resource]: z.array(ghostAdminBodySchema) }) as unknown as z.ZodType<Record<string, GhostAdminBody[]>>;
      const found: GhostAdminBody[] = [];
      for (let i = 0; i < ids.length; i += idsPerRequest) {
        const chunk = ids.slice(i, i + idsPerRequest);
        const query = { filter: `id:[${chunk.join(',')}]`, formats: 'html', fields: 'id,status,visibility,html', limit: '100' };
        const answer = await send(t, { method: 'GET', path, query, headers, idempotent: true });
        found.push(...(parseAnswer(t, schema, answer.body, { endpoint: endpointOf(t, 'GET', path) })[resource] ?? []));
      }
      return found;
    },
    deleteWebhook: async (id) => {
      if (!/^[0-9a-f]{24}$/i.test(id)) throw new RangeError('deleteWebhook expects a Ghost id (24 hex characters)');
      const path = `${adminRoot}webhooks/${id}/`;
      const answer = await send(t, { method: 'DELETE', path, headers, idempotent: true, ghost404IsAnswer: true });
      return answer.status === 404 ? 'already-gone' : 'deleted';
    },
  };
}
