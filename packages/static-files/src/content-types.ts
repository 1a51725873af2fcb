import { lookup } from 'mrmime';

/**
 * Extensions precompressed at build time (text formats that shrink). `.br`/`.gz` files beside
 * one of these belong to precompression: written, refreshed and removed by it.
 */
export const compressibleExtensions: ReadonlySet<string> = new Set(['html', 'htm', 'css', 'js', 'mjs', 'json', 'map', 'xml', 'svg', 'txt', 'webmanifest', 'ics']);

const textual = /^(?:text\/|application\/(?:javascript|json|xml|manifest\+json|[\w.-]+\+(?:json|xml))$|image\/svg\+xml$)/;
const extra: Record<string, string> = { ico: 'image/x-icon' };
/** Feeds are .xml/.json files like any other: their usual names say what they are. */
const byName: Record<string, string> = { 'rss.xml': 'application/rss+xml', 'atom.xml': 'application/atom+xml', 'feed.json': 'application/feed+json' };

export function extensionOf(file: string): string {
  const slash = file.lastIndexOf('/');
  const dot = file.lastIndexOf('.');
  return dot > slash + 1 ? file.slice(dot + 1).toLowerCase() : '';
}

export function isCompressibleFile(file: string): boolean {
  return compressibleExtensions.has(extensionOf(file));
}

/**
 * `Content-Type` for a file name; text types carry `charset=utf-8` (Astro writes UTF-8).
 * `rss.xml`, `atom.xml` and `feed.json` are served as the feeds they are.
 */
export function contentTypeOf(file: string): string {
  const ext = extensionOf(file);
  const type = byName[file.slice(file.lastIndexOf('/') + 1)] ?? lookup(ext) ?? extra[ext] ?? 'application/octet-stream';
  return textual.test(type) ? `${type}; charset=utf-8` : type;
}

/** Whether a response of this `Content-Type` is worth compressing on the fly. */
export function isCompressibleType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  // A stream of events must reach the client as it is written, not when a block fills.
  return type !== 'text/event-stream' && textual.test(type);
}
