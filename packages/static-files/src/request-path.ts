export type RequestTarget = { kind: 'path'; path: string; query: string } | { kind: 'bad'; reason: string } | { kind: 'other' };

const dotSegment = /(?:^|\/)\.\.?(?:\/|$)/;

/**
 * The decoded path of a request target, for looking a file up. Targets that are not a path
 * (`*`, absolute form) are `other`; percent-encoding that does not decode, a NUL byte or a
 * `.`/`..` segment (raw or encoded) is `bad`: no file can be asked for that way, and nothing
 * outside the release can be reached (files are looked up in an index, never joined to a
 * path on disk).
 */
export function parseRequestTarget(url: string | undefined): RequestTarget {
  if (!url || url.charCodeAt(0) !== 47 /* / */) return { kind: 'other' };
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  let path = raw;
  if (raw.includes('%')) {
    try {
      path = decodeURIComponent(raw);
    } catch {
      return { kind: 'bad', reason: 'malformed percent-encoding' };
    }
  }
  if (path.includes('\0')) return { kind: 'bad', reason: 'NUL in path' };
  if (dotSegment.test(path) || path.includes('\\')) return { kind: 'bad', reason: 'dot segment or backslash in path' };
  return { kind: 'path', path, query };
}
