import { linkPaths } from '@rose/core';

/**
 * What each on-demand route accepts: methods, body types and body size. Checked once, in
 * the middleware, before any page or endpoint runs, so no input reaches a page it cannot
 * handle (a JSON body posted to a form, a 50 MB signup, PUT or PROPFIND). Routes not listed
 * are form pages: GET, HEAD and POST with a form body of up to 64 KB.
 */
export interface RoutePolicy {
  methods: readonly string[];
  /** For methods other than GET/HEAD/OPTIONS; `types` undefined: any (the route checks it). */
  body?: { types?: readonly string[]; maxBytes: number };
}

const KB = 1024;
const formTypes = ['application/x-www-form-urlencoded', 'multipart/form-data'];
const getOnly: RoutePolicy = { methods: ['GET', 'HEAD'] };
export const formPage: RoutePolicy = { methods: ['GET', 'HEAD', 'POST'], body: { types: formTypes, maxBytes: 64 * KB } };

/** By Astro route pattern (`context.routePattern`, without a trailing slash). */
export const routePolicies: Readonly<Record<string, RoutePolicy>> = {
  [linkPaths.api.health()]: getOnly,
  [linkPaths.api.ghostWebhook()]: { methods: ['POST'], body: { types: ['application/json'], maxBytes: 10 * KB * KB } },
  [linkPaths.auth.logout()]: { methods: ['POST'], body: { types: formTypes, maxBytes: 4 * KB } },
  [linkPaths.auth.ssoStart()]: getOnly,
  [linkPaths.auth.ssoCallback()]: getOnly,
  [linkPaths.auth.ssoBackchannel()]: { methods: ['POST'], body: { types: ['application/x-www-form-urlencoded'], maxBytes: 64 * KB } },
  // Astro checks the island's own JSON body; large props make it a POST.
  '/_server-islands/[name]': { methods: ['GET', 'HEAD', 'POST'], body: { maxBytes: 1024 * KB } },
  // The social hub: its forms are small, but for the home page's compose (5,000 characters,
  // each up to 12 bytes once percent-encoded, and a content warning).
  ...socialPolicies(),
};

/** The social hub's routes by pattern, spelled through the links helper (`[handle]` is the route's parameter). */
function socialPolicies(): Record<string, RoutePolicy> {
  const route = (path: string) => decodeURIComponent(path.split('?')[0]!).replace(/(.)\/+$/, '$1');
  const smallForm: RoutePolicy = { methods: ['GET', 'HEAD', 'POST'], body: { types: formTypes, maxBytes: 16 * KB } };
  const s = linkPaths.social;
  return {
    [route(s.home())]: { methods: ['GET', 'HEAD', 'POST'], body: { types: formTypes, maxBytes: 96 * KB } },
    [route(s.settings())]: smallForm,
    [route(s.notifications())]: smallForm,
    [route(s.followers())]: smallForm,
    [route(s.following())]: smallForm,
    [route(s.moderation())]: smallForm,
    [route(s.profile('[handle]'))]: smallForm,
    [route(s.remoteProfile(''))]: smallForm,
    [route(s.tag('[tag]'))]: getOnly,
  };
}

export function policyFor(routePattern: string): RoutePolicy {
  const key = routePattern.replace(/\/index$/, '').replace(/(.)\/+$/, '$1');
  return routePolicies[key] ?? formPage;
}

const text = (status: number, statusText: string, body: string, headers: Record<string, string> = {}) =>
  new Response(`${body}\n`, { status, statusText, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers } });

/**
 * The answer for a request its route does not accept (405, 413, 415, 400 for a form that
 * cannot be parsed, 204 for OPTIONS), or undefined to go on. Reads at most `maxBytes` of
 * the body, from a clone: the page still reads the original.
 */
export async function refuseUnacceptable(request: Request, policy: RoutePolicy): Promise<Response | undefined> {
  const method = request.method.toUpperCase();
  const allow = [...policy.methods, 'OPTIONS'].join(', ');
  if (method === 'OPTIONS') return new Response(null, { status: 204, headers: { Allow: allow, 'Cache-Control': 'no-store' } });
  if (!policy.methods.includes(method)) {
    return text(405, 'Method Not Allowed', `${method} is not allowed here; this address accepts ${policy.methods.join(', ')}.`, { Allow: allow });
  }
  if (method === 'GET' || method === 'HEAD' || !policy.body) return undefined;

  const { maxBytes, types } = policy.body;
  // Refused before reading anything; Connection: close so the rest is not read either.
  const tooLarge = () => text(413, 'Content Too Large', `The request body is larger than this address accepts (${formatBytes(maxBytes)}).`, { Connection: 'close' });
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) return tooLarge();

  const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (types && !types.includes(mediaType)) {
    return text(415, 'Unsupported Media Type', `${mediaType ? `A ${mediaType} body` : 'A body without a Content-Type'} is not accepted here; send ${types.join(' or ')}.`, { Accept: types.join(', ') });
  }
  let body: Uint8Array<ArrayBuffer> | undefined;
  try {
    body = await readAtMost(request.clone(), maxBytes);
  } catch {
    return text(400, 'Bad Request', 'The request body could not be read (the upload was cut short).');
  }
  if (body === undefined) return tooLarge();
  if (mediaType === 'application/x-www-form-urlencoded' || mediaType === 'multipart/form-data') {
    try {
      await new Request('http://localhost/', { method: 'POST', headers: { 'content-type': request.headers.get('content-type')! }, body }).formData();
    } catch {
      return text(400, 'Bad Request', 'The form could not be read: its body does not match its Content-Type.');
    }
  }
  return undefined;
}

/** The whole body, or undefined as soon as it passes `maxBytes` (a chunked body has no length). */
async function readAtMost(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      // Not awaited: a tee branch's cancel settles only once the page's branch is cancelled
      // too, which never happens (the connection is closed after the 413 instead).
      reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.byteLength;
  }
  return body;
}

function formatBytes(n: number): string {
  return n >= KB * KB ? `${n / (KB * KB)} MB` : `${n / KB} KB`;
}
