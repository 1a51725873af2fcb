/**
 * A real, independent ActivityPub server for federation tests: a small Fedify 2.3.6 app on
 * loopback. It is "the other implementation" our server interoperates with, so it imports
 * nothing from our packages.
 *
 * ```ts
 * const peer = await startFedifyPeer();                     // alice at http://127.0.0.1:PORT/users/alice
 * await peer.follow(ourActorId);                            // Follow signed by alice (RFC 9421 first)
 * await peer.waitFor((a) => a.type === 'Accept', { what: 'our Accept' }); // then isFollowing() is true
 * const noteId = await peer.post({ content: 'hi', mention: { id: ourActorId, name: '@bob@…' } });
 * const like = await peer.waitFor((a) => a.type === 'Like', { what: 'our Like' });
 * const bad = await peer.sendRaw(ourInbox, activity, { sign: 'draft-cavage', tamperBody: true });
 * await peer.close();
 * ```
 *
 * What it does like a real server: Person actors with an RSA key (HTTP Signatures, Linked Data
 * Signatures) and an Ed25519 key (Object Integrity Proofs, FEP-8b32); WebFinger; a followers
 * collection; notes dereferenceable at their ids; follows auto-accepted (the Accept is sent
 * after the inbox answers, like a server with a job queue). `received` holds only deliveries
 * Fedify verified (HTTP signature, or a Linked Data signature / integrity proof in the body).
 * Outgoing sends have no queue, so a refused delivery rejects the caller's promise
 * (`SendActivityError` with `statusCode`). `allowPrivateAddress` lets it fetch loopback
 * http URLs; signatures are still verified.
 */
import http from 'node:http';
import { createFederation, generateCryptoKeyPair, MemoryKvStore, signRequest, type Context, type InboxContext } from '@fedify/fedify';
import {
  Accept, Activity, Announce, Create, Delete, Endpoints, Follow, isActor, Like, Mention, Note, Person,
  PUBLIC_COLLECTION, Reject, Tombstone, Undo, Update, type Recipient,
} from '@fedify/vocab';
import { Temporal } from '@js-temporal/polyfill';

export type HttpSignatureSeen = 'rfc9421' | 'draft-cavage' | 'none';

export interface PeerActivity {
  id?: string;
  type: string;
  actor: string;
  object?: unknown;
  /** The body exactly as delivered (parsed JSON). */
  json: Record<string, unknown>;
  receivedAt: Date;
  inbox: 'personal' | 'shared';
  /** The peer actor whose personal inbox it reached. */
  recipient?: string;
  /** Which HTTP signature headers the delivery carried (Fedify may have verified a body signature instead). */
  httpSignature: HttpSignatureSeen;
}

export interface FedifyPeer {
  readonly origin: string;
  actorId(name?: string): string;
  inboxOf(name?: string): string;
  readonly sharedInbox: string;
  readonly received: PeerActivity[];
  /** Failures of work done after an inbox answered (sending an Accept), for error messages. */
  readonly errors: string[];
  waitFor(predicate: (a: PeerActivity) => boolean, opts?: { timeoutMs?: number; what?: string }): Promise<PeerActivity>;
  follow(target: string, opts?: { as?: string }): Promise<string>;
  isFollowing(target: string, opts?: { as?: string }): boolean;
  unfollow(target: string, opts?: { as?: string }): Promise<void>;
  followers(name?: string): string[];
  post(opts: PostOptions): Promise<string>;
  update(noteId: string, content: string): Promise<void>;
  remove(noteId: string): Promise<void>;
  like(objectId: string, ownerActorId: string, opts?: { as?: string }): Promise<string>;
  announce(objectId: string, ownerActorId: string, opts?: { as?: string }): Promise<string>;
  /** Sends `body` to `inbox` signed as `as` (default alice) with `sign` (default rfc9421), or unsigned, or signed then tampered; `date` backdates the signature. For negative tests. */
  sendRaw(inbox: string, body: Record<string, unknown>, opts?: { as?: string; sign?: 'rfc9421' | 'draft-cavage' | 'none'; tamperBody?: boolean; date?: Date }): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

export interface PostOptions {
  content: string;
  as?: string;
  to?: 'public' | 'unlisted' | 'followers';
  inReplyTo?: string;
  mention?: { id: string; name: string };
  summary?: string;
  sensitive?: boolean;
}

/** Per-request data handed to Fedify: the raw body (the listeners see only parsed objects) and work to run after the response. */
interface RequestData {
  rawBody: string;
  httpSignature: HttpSignatureSeen;
  after: (() => Promise<void>)[];
}

interface StoredNote {
  owner: string;
  note: Note;
  mention?: string;
  deleted: boolean;
}

const defaultActor = 'alice';

/** Starts the peer on `hostname` (default 127.0.0.1) and `port` (default: any free one). */
export async function startFedifyPeer(opts: { hostname?: string; port?: number; actors?: string[]; firstKnock?: 'rfc9421' | 'draft-cavage-http-signatures-12' } = {}): Promise<FedifyPeer> {
  const hostname = opts.hostname ?? '127.0.0.1';
  const names = opts.actors ?? [defaultActor];
  const keys = new Map<string, CryptoKeyPair[]>();
  for (const name of names) keys.set(name, [await generateCryptoKeyPair('RSASSA-PKCS1-v1_5'), await generateCryptoKeyPair('Ed25519')]);
  const followerMap = new Map(names.map((n) => [n, new Map<string, { recipient: Recipient; followId?: string }>()]));
  const following = new Map<string, { followId: string; accepted: boolean }>(); // key: `${as}\n${target}`
  const notes = new Map<string, StoredNote>(); // key: note URI
  const received: PeerActivity[] = [];
  const errors: string[] = [];

  const federation = createFederation<RequestData>({
    kv: new MemoryKvStore(),
    allowPrivateAddress: true,
    ...(opts.firstKnock ? { firstKnock: opts.firstKnock } : {}),
  });

  federation
    .setActorDispatcher('/users/{identifier}', async (ctx, identifier) => {
      if (!keys.has(identifier)) return null;
      const pairs = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: `${identifier} (Fedify peer)`,
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        followers: ctx.getFollowersUri(identifier),
        manuallyApprovesFollowers: false,
        publicKey: pairs[0]?.cryptographicKey ?? null,
        assertionMethods: pairs.map((p) => p.multikey),
      });
    })
    // The RSA pair comes first, so it gets the key id `${actorId}#main-key`.
    .setKeyPairsDispatcher((_ctx, identifier) => keys.get(identifier) ?? []);

  federation.setFollowersDispatcher('/users/{identifier}/followers', (_ctx, identifier) => {
    const map = followerMap.get(identifier);
    return map ? { items: [...map.values()].map((f) => f.recipient) } : null;
  });

  federation.setObjectDispatcher(Note, '/users/{identifier}/notes/{id}', (ctx, values) => {
    const stored = notes.get(ctx.getObjectUri(Note, values).href);
    return stored && !stored.deleted ? stored.note : null;
  });

  const record = (ctx: InboxContext<RequestData>, activity: Activity): void => {
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(ctx.data.rawBody) as Record<string, unknown>;
    } catch {
      // Fedify parsed it, so it was JSON; an empty record only if the body was not kept.
    }
    received.push({
      ...(activity.id ? { id: activity.id.href } : {}),
      type: typeof json.type === 'string' ? json.type : activity.constructor.name,
      actor: activity.actorId?.href ?? '',
      object: json.object,
      json,
      receivedAt: new Date(),
      inbox: ctx.recipient == null ? 'shared' : 'personal',
      ...(ctx.recipient != null ? { recipient: ctx.recipient } : {}),
      httpSignature: ctx.data.httpSignature,
    });
  };

  federation
    .setInboxListeners('/users/{identifier}/inbox', '/inbox')
    .on(Follow, async (ctx, follow) => {
      record(ctx, follow);
      const target = ctx.parseUri(follow.objectId);
      if (target?.type !== 'actor' || !keys.has(target.identifier) || follow.actorId == null) return;
      const follower = await follow.getActor(ctx);
      if (follower == null) throw new Error(`Fedify peer could not fetch the follower ${follow.actorId.href}`);
      followerMap.get(target.identifier)?.set(follow.actorId.href, { recipient: follower, ...(follow.id ? { followId: follow.id.href } : {}) });
      const accept = new Accept({ id: activityId(ctx, target.identifier), actor: ctx.getActorUri(target.identifier), object: follow, to: follow.actorId });
      ctx.data.after.push(() => ctx.sendActivity({ identifier: target.identifier }, follower, accept));
    })
    .on(Accept, (ctx, accept) => {
      record(ctx, accept);
      for (const [key, entry] of following) {
        if (entry.followId === accept.objectId?.href && key.endsWith(`\n${accept.actorId?.href}`)) entry.accepted = true;
      }
    })
    .on(Reject, (ctx, reject) => {
      record(ctx, reject);
      for (const [key, entry] of following) {
        if (entry.followId === reject.objectId?.href && key.endsWith(`\n${reject.actorId?.href}`)) following.delete(key);
      }
    })
    .on(Undo, async (ctx, undo) => {
      record(ctx, undo);
      const actor = undo.actorId?.href;
      if (actor == null) return;
      // Only the follower itself (Fedify checked that it signed this) can undo its follow.
      let undone: string | undefined;
      for (const [name, map] of followerMap) if (map.get(actor)?.followId === undo.objectId?.href) undone = name;
      if (undone === undefined) {
        const object = await undo.getObject(ctx).catch(() => null); // a Follow without id: embedded
        const target = object instanceof Follow ? ctx.parseUri(object.objectId) : null;
        if (target?.type === 'actor') undone = target.identifier;
      }
      if (undone !== undefined) followerMap.get(undone)?.delete(actor);
    })
    // Create, Update, Delete, Like, Announce, Block, Move and anything else: recorded only.
    .on(Activity, (ctx, activity) => record(ctx, activity));

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`Fedify peer failed: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, hostname, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const origin = `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
  const afterWork = new Set<Promise<void>>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
    }
    const method = req.method ?? 'GET';
    const request = new Request(new URL(req.url ?? '/', origin), { method, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body }) });
    const data: RequestData = {
      rawBody: body.toString('utf8'),
      httpSignature: headers.has('signature-input') ? 'rfc9421' : headers.has('signature') ? 'draft-cavage' : 'none',
      after: [],
    };
    const response = await federation.fetch(request, { contextData: data });
    res.writeHead(response.status, [...response.headers].flat());
    res.end(Buffer.from(await response.arrayBuffer()));
    for (const task of data.after) {
      const run = task().catch((error: unknown) => void errors.push(String(error))).finally(() => afterWork.delete(run));
      afterWork.add(run);
    }
  }

  const context = (): Context<RequestData> => federation.createContext(new URL(origin), { rawBody: '', httpSignature: 'none', after: [] });
  const actorId = (name = defaultActor) => `${origin}/users/${name}`;
  const actorName = (as: string | undefined): string => {
    const name = as ?? defaultActor;
    if (!keys.has(name)) throw new Error(`Fedify peer has no actor "${name}"; start it with actors: [${JSON.stringify(name)}, …]`);
    return name;
  };
  const lookupActor = async (uri: string): Promise<Recipient> => {
    const found = await context().lookupObject(uri);
    if (!isActor(found)) throw new Error(`Fedify peer could not fetch the actor ${uri} (it must answer GET with Accept: application/activity+json with an actor document)`);
    return found;
  };
  const audience = (name: string, to: PostOptions['to'], mention?: string) => {
    const followersUri = context().getFollowersUri(name);
    const extra = mention ? [new URL(mention)] : [];
    if (to === 'followers') return { tos: [followersUri, ...extra], ccs: [] };
    if (to === 'unlisted') return { tos: [followersUri], ccs: [PUBLIC_COLLECTION, ...extra] };
    return { tos: [PUBLIC_COLLECTION], ccs: [followersUri, ...extra] };
  };
  const recipientsOf = async (name: string, mention?: string): Promise<Recipient[]> => [
    ...[...(followerMap.get(name)?.values() ?? [])].map((f) => f.recipient),
    ...(mention ? [await lookupActor(mention)] : []),
  ];
  const storedNote = (noteId: string): StoredNote => {
    const stored = notes.get(noteId);
    if (!stored || stored.deleted) throw new Error(`Fedify peer has no note ${noteId} (post() returns the ids it knows)`);
    return stored;
  };

  const peer: FedifyPeer = {
    origin,
    actorId,
    inboxOf: (name = defaultActor) => `${actorId(name)}/inbox`,
    sharedInbox: `${origin}/inbox`,
    received,
    errors,
    async waitFor(predicate, { timeoutMs = 15_000, what = 'a matching activity' } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = received.map((a) => `${a.type} from ${a.actor}`).join(', ') || 'nothing';
          throw new Error(`Fedify peer ${origin} did not receive ${what} within ${timeoutMs} ms; it received: ${seen}${errors.length ? `; errors: ${errors.join('; ')}` : ''}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async follow(target, { as } = {}) {
      const name = actorName(as);
      const ctx = context();
      const id = activityId(ctx, name);
      following.set(`${name}\n${target}`, { followId: id.href, accepted: false });
      await ctx.sendActivity({ identifier: name }, await lookupActor(target), new Follow({ id, actor: ctx.getActorUri(name), object: new URL(target), to: new URL(target) }));
      return id.href;
    },
    isFollowing: (target, { as } = {}) => following.get(`${actorName(as)}\n${target}`)?.accepted === true,
    async unfollow(target, { as } = {}) {
      const name = actorName(as);
      const entry = following.get(`${name}\n${target}`);
      if (!entry) throw new Error(`Fedify peer actor ${name} does not follow ${target}`);
      const ctx = context();
      const follow = new Follow({ id: new URL(entry.followId), actor: ctx.getActorUri(name), object: new URL(target) });
      await ctx.sendActivity({ identifier: name }, await lookupActor(target), new Undo({ id: activityId(ctx, name), actor: ctx.getActorUri(name), object: follow, to: new URL(target) }));
      following.delete(`${name}\n${target}`);
    },
    followers: (name = defaultActor) => [...(followerMap.get(actorName(name))?.keys() ?? [])],
    async post(post) {
      const name = actorName(post.as);
      const ctx = context();
      const id = ctx.getObjectUri(Note, { identifier: name, id: crypto.randomUUID() });
      const published = Temporal.Now.instant();
      const { tos, ccs } = audience(name, post.to, post.mention?.id);
      const note = new Note({
        id, attribution: ctx.getActorUri(name), content: post.content, url: id, published, tos, ccs,
        ...(post.summary !== undefined ? { summary: post.summary } : {}),
        ...(post.sensitive !== undefined ? { sensitive: post.sensitive } : {}),
        ...(post.inReplyTo ? { replyTarget: new URL(post.inReplyTo) } : {}),
        ...(post.mention ? { tags: [new Mention({ href: new URL(post.mention.id), name: post.mention.name })] } : {}),
      });
      notes.set(id.href, { owner: name, note, ...(post.mention ? { mention: post.mention.id } : {}), deleted: false });
      const create = new Create({ id: new URL(`${id.href}#create`), actor: ctx.getActorUri(name), object: note, published, tos, ccs });
      await ctx.sendActivity({ identifier: name }, await recipientsOf(name, post.mention?.id), create);
      return id.href;
    },
    async update(noteId, content) {
      const stored = storedNote(noteId);
      const ctx = context();
      stored.note = stored.note.clone({ content, updated: Temporal.Now.instant() });
      const update = new Update({ id: activityId(ctx, stored.owner), actor: ctx.getActorUri(stored.owner), object: stored.note, tos: stored.note.toIds, ccs: stored.note.ccIds });
      await ctx.sendActivity({ identifier: stored.owner }, await recipientsOf(stored.owner, stored.mention), update);
    },
    async remove(noteId) {
      const stored = storedNote(noteId);
      const ctx = context();
      stored.deleted = true;
      const tombstone = new Tombstone({ id: new URL(noteId), deleted: Temporal.Now.instant() });
      const del = new Delete({ id: activityId(ctx, stored.owner), actor: ctx.getActorUri(stored.owner), object: tombstone, tos: stored.note.toIds, ccs: stored.note.ccIds });
      await ctx.sendActivity({ identifier: stored.owner }, await recipientsOf(stored.owner, stored.mention), del);
    },
    async like(objectId, ownerActorId, { as } = {}) {
      const name = actorName(as);
      const ctx = context();
      const like = new Like({ id: activityId(ctx, name), actor: ctx.getActorUri(name), object: new URL(objectId), to: new URL(ownerActorId) });
      await ctx.sendActivity({ identifier: name }, await lookupActor(ownerActorId), like);
      return like.id!.href;
    },
    async announce(objectId, ownerActorId, { as } = {}) {
      const name = actorName(as);
      const ctx = context();
      const announce = new Announce({
        id: activityId(ctx, name), actor: ctx.getActorUri(name), object: new URL(objectId), published: Temporal.Now.instant(),
        to: PUBLIC_COLLECTION, ccs: [new URL(ownerActorId), ctx.getFollowersUri(name)],
      });
      await ctx.sendActivity({ identifier: name }, [await lookupActor(ownerActorId), ...(await recipientsOf(name))], announce);
      return announce.id!.href;
    },
    async sendRaw(inbox, body, { as, sign = 'rfc9421', tamperBody = false, date } = {}) {
      const name = actorName(as);
      let request = new Request(inbox, {
        method: 'POST',
        headers: { 'content-type': 'application/activity+json', accept: 'application/activity+json', ...(date ? { date: date.toUTCString() } : {}) },
        body: JSON.stringify(body),
      });
      if (sign !== 'none') {
        const pair = (await context().getActorKeyPairs(name)).find((p) => p.privateKey.algorithm.name === 'RSASSA-PKCS1-v1_5');
        if (!pair) throw new Error(`Fedify peer actor ${name} has no RSA key`);
        request = await signRequest(request, pair.privateKey, pair.keyId, {
          spec: sign === 'rfc9421' ? 'rfc9421' : 'draft-cavage-http-signatures-12',
          ...(date ? { currentTime: Temporal.Instant.fromEpochMilliseconds(date.getTime()) } : {}),
        });
      }
      if (tamperBody) {
        // A valid activity still, so a refusal can only come from the signature (digest) check.
        request = new Request(request.url, { method: 'POST', headers: request.headers, body: JSON.stringify({ ...body, summary: 'changed after signing' }) });
      }
      const response = await fetch(request);
      return { status: response.status, text: await response.text() };
    },
    async close() {
      await Promise.allSettled([...afterWork]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return peer;
}

/** A fresh id per activity: the same actor may Follow, Undo and Follow again. */
function activityId(ctx: Context<RequestData>, name: string): URL {
  return new URL(`/users/${name}/activities/${crypto.randomUUID()}`, ctx.origin);
}
