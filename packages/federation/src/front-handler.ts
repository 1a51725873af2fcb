import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Federation } from '@fedify/fedify';
import type { FederationData } from './federation.ts';
import { isFederationPath, isInboxPath } from './paths.ts';

/** The largest activity we read; Mastodon's own limit for an inbox delivery is about 1 MB. */
export const maxActivityBytes = 1024 * 1024;
/** How long a sender may take to send its body. */
const bodyTimeoutMs = 10_000;

/** Ids longer than this are refused (they could not be stored: index entries are bounded). */
const maxIdLength = 2048;

const idOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : value && typeof value === 'object' && 'id' in value && typeof value.id === 'string' ? value.id : undefined;

const asUrl = (value: unknown): URL | undefined => {
  const id = idOf(value);
  if (!id || id.length > maxIdLength || !URL.canParse(id)) return undefined;
  return new URL(id);
};

/** `Create`, `as:Create` and the full IRI are one type. */
const typeNames = (type: unknown): Set<string> =>
  new Set(
    [type]
      .flat()
      .filter((t): t is string => typeof t === 'string')
      .map((t) => t.replace(/^https:\/\/www\.w3\.org\/ns\/activitystreams#/, '').replace(/^as:/, '')),
  );

/** Activities about an object that must be the sender's own (its server's). */
const ownObjectTypes = ['Create', 'Update', 'Delete', 'Undo'];

/**
 * Why an inbox delivery is refused before its signature is even checked, or undefined. A
 * server may speak only for its own objects: a Create, Update, Delete or Undo of an object of
 * another host is a forgery (whatever its signature says), as is one with no actor. Ids must
 * be URLs of a sane length.
 */
export function inboxDeliveryProblem(body: unknown): { status: number; message: string } | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { status: 400, message: 'An activity is a JSON object.' };
  const activity = body as Record<string, unknown>;
  const types = typeNames(activity.type);
  if (types.size === 0) return { status: 400, message: 'The activity has no type.' };
  const actorRef = Array.isArray(activity.actor) ? activity.actor[0] : activity.actor;
  const actor = asUrl(actorRef);
  if (!actor) return { status: 400, message: 'The activity names no actor (or not as a URL).' };
  if (activity.id !== undefined && !asUrl(activity.id)) return { status: 400, message: 'The activity id is not a URL.' };
  const id = asUrl(activity.id);
  if (id && id.origin !== actor.origin) return { status: 403, message: 'The activity is not from its actor’s server.' };
  if (ownObjectTypes.some((t) => types.has(t))) {
    const objectRef = Array.isArray(activity.object) ? activity.object[0] : activity.object;
    const object = asUrl(objectRef);
    if (idOf(objectRef) !== undefined && !object) return { status: 400, message: 'The object id is not a URL.' };
    if (object && object.origin !== actor.origin) return { status: 403, message: 'The object is not from the actor’s server.' };
  }
  return undefined;
}

/** JSON as sent, minus NUL characters (the database cannot store them in text or jsonb). */
function parseJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' ? value.replaceAll('\0', '') : value));
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'timeout'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxActivityBytes) return 'too-large';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      req.destroy();
      resolve('timeout');
    }, bodyTimeoutMs);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxActivityBytes) {
        clearTimeout(timer);
        req.destroy();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function isTombstone(bytes: Buffer): boolean {
  try {
    return (JSON.parse(bytes.toString('utf8')) as { type?: unknown }).type === 'Tombstone';
  } catch {
    return false;
  }
}

function answer(res: ServerResponse, status: number, text: string): true {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
  return true;
}

/**
 * The federation in front of the site: ActivityPub, WebFinger and NodeInfo requests go to
 * Fedify; anything it does not serve (an actor id asked for as HTML) goes on to the site.
 */
export function createFederationFrontHandler(
  federation: () => Promise<Federation<FederationData>>,
  opts: {
    origin: (req: IncomingMessage) => string;
    onRefused?: (reason: string, status: number) => void;
    /** Where a browser asking for an ActivityPub id as HTML goes instead (an actor's profile page). */
    htmlPage?: (url: URL) => Promise<string | undefined>;
    /** Whether a delivery may come in now: undefined, or the seconds its sender should wait (429). */
    admit?: (req: IncomingMessage) => Promise<number | undefined>;
  },
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', opts.origin(req));
    if (!isFederationPath(url.pathname)) return false;
    let body: Buffer | undefined;
    let raw: Record<string, unknown> | undefined;
    if (req.method === 'POST') {
      if (!isInboxPath(url.pathname)) return answer(res, 405, 'Only inboxes take deliveries.');
      const wait = await opts.admit?.(req);
      if (wait !== undefined) {
        opts.onRefused?.('too many deliveries', 429);
        res.setHeader('Retry-After', String(wait));
        return answer(res, 429, `Too many deliveries; try again in ${wait} s.`);
      }
      const read = await readBody(req);
      if (read === 'too-large') return answer(res, 413, `An activity is at most ${maxActivityBytes} bytes.`);
      if (read === 'timeout') return answer(res, 408, 'The activity took too long to arrive.');
      body = read;
      let parsed: unknown;
      try {
        parsed = parseJson(body.toString('utf8'));
      } catch {
        opts.onRefused?.('not JSON', 400);
        return answer(res, 400, 'The activity is not JSON.');
      }
      const problem = inboxDeliveryProblem(parsed);
      if (problem) {
        opts.onRefused?.(problem.message, problem.status);
        return answer(res, problem.status, problem.message);
      }
      raw = parsed as Record<string, unknown>;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const v of [value].flat()) headers.append(name, v);
    }
    const request = new Request(url, { method: req.method ?? 'GET', headers, ...(body ? { body: new Uint8Array(body) } : {}) });
    let passed = false;
    const response = await (
      await federation()
    ).fetch(request, {
      contextData: raw ? { raw } : {},
      // Not ours (no such route) or not acceptable (a browser asking for HTML): the site answers.
      onNotFound: () => {
        passed = true;
        return new Response(null, { status: 404 });
      },
      onNotAcceptable: () => {
        passed = true;
        return new Response(null, { status: 406 });
      },
    });
    if (passed) {
      const page = response.status === 406 && (req.method === 'GET' || req.method === 'HEAD') ? await opts.htmlPage?.(url) : undefined;
      if (!page) return false;
      res.writeHead(303, { Location: page, 'Cache-Control': 'no-store', Vary: 'Accept' });
      res.end();
      return true;
    }
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => (out[name] = value));
    const bytes = Buffer.from(await response.arrayBuffer());
    // A deleted object is served as its Tombstone with 410 Gone, as ActivityPub asks.
    const gone = response.status === 200 && /^\/ap\/(notes|articles|events)\//.test(url.pathname) && isTombstone(bytes);
    res.writeHead(gone ? 410 : response.status, out);
    res.end(req.method === 'HEAD' ? undefined : bytes);
    return true;
  };
}

/**
 * Deliveries each sender (its address, or the client's behind a trusted proxy) may make per
 * minute, counted in the shared cache: a server flooding our inbox is told to come back later
 * (429 with Retry-After, which Mastodon and Fedify honour) before anything is read.
 */
export function inboxAdmission(counter: { increment(key: string, windowSeconds: number): Promise<number> }, opts: { perMinute: number; sender: (req: IncomingMessage) => string | undefined; onError?: (error: unknown) => void }) {
  return async (req: IncomingMessage): Promise<number | undefined> => {
    const sender = opts.sender(req);
    if (!sender) return undefined;
    try {
      const count = await counter.increment(`ap-inbox:${sender}`, 60);
      return count > opts.perMinute ? 60 : undefined;
    } catch (error) {
      // A cache that is down must not stop federation.
      opts.onError?.(error);
      return undefined;
    }
  };
}
