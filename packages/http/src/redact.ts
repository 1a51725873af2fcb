/** What a redacted value is replaced with. */
export const redacted = '****';

// Query keys and header names whose values are credentials, matched case-insensitively. Names
// ending in one of the words (`api_key`, `refresh-token`, `apiKey`) count too: hiding a harmless
// value costs less than printing a key.
const sensitiveQueryEnding = /(?:key|token|secret|password|passwd|signature)$/;
const exactSensitiveKeys = new Set(['sig', 'code', 'auth', 'credentials']);
const sensitiveHeaderNames = /authorization|cookie|token|secret|api-?key|signature|password/i;

/**
 * Whether a query parameter carries a credential: `key`, `token`, `access_token`,
 * `client_secret`, `signature`, an OAuth `code`, and names ending in those words (`apiKey`),
 * plus any of `extra`.
 */
export function isSensitiveQueryKey(key: string, extra: readonly string[] = []): boolean {
  const lower = key.toLowerCase();
  return exactSensitiveKeys.has(lower) || sensitiveQueryEnding.test(lower) || extra.some((k) => k.toLowerCase() === lower);
}

/** Whether a header carries a credential: Authorization, Cookie, Set-Cookie, X-Api-Key, *-Token, *-Signature, … */
export function isSensitiveHeader(name: string): boolean {
  return sensitiveHeaderNames.test(name);
}

/**
 * A URL safe to print: the password and the values of credential-carrying query keys replaced
 * by `****`.
 *
 * @example
 * redactUrl('https://api.example/x?key=abc&page=2') // 'https://api.example/x?key=****&page=2'
 */
export function redactUrl(url: string | URL, extraQueryKeys: readonly string[] = []): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL: hide anything that looks like userinfo or a key=value credential.
    return String(url)
      .replace(/\/\/([^:/@\s]+):([^@\s]+)@/, `//$1:${redacted}@`)
      .replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (whole, sep: string, key: string) => (isSensitiveQueryKey(key, extraQueryKeys) ? `${sep}${key}=${redacted}` : whole));
  }
  if (parsed.password) parsed.password = redacted;
  // Rewrite the raw query pair by pair: order and encoding stay as sent.
  parsed.search = parsed.search
    .slice(1)
    .split('&')
    .map((pair) => {
      const cut = pair.indexOf('=');
      const key = cut === -1 ? pair : pair.slice(0, cut);
      return cut !== -1 && isSensitiveQueryKey(decodeQueryPart(key), extraQueryKeys) ? `${key}=${redacted}` : pair;
    })
    .join('&');
  return parsed.toString();
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

/** Headers safe to log: credential-carrying values replaced by `****`. */
export function redactHeaders(headers: Headers | Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  for (const [name, value] of entries) out[name] = isSensitiveHeader(name) ? redacted : value;
  return out;
}

/** `text` with every occurrence of each secret (4 characters or more) replaced by `****`. */
export function redactText(text: string, secrets: Iterable<string>): string {
  // Longest first, so a secret that contains another is hidden whole.
  const sorted = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of sorted) out = out.split(secret).join(redacted);
  return out;
}

/**
 * The secret values a request carries: credential query values, the password of the URL,
 * and credential headers (for `Bearer <token>`-style values the token alone too), so they can
 * be cut out of anything an error or log line repeats (a server echoing the key, say).
 */
export function secretsOf(url: URL, headers: Readonly<Record<string, string>>, extraQueryKeys: readonly string[] = []): string[] {
  const found: string[] = [];
  if (url.password) found.push(decodeURIComponent(url.password), url.password);
  for (const [key, value] of url.searchParams) {
    if (isSensitiveQueryKey(key, extraQueryKeys) && value) found.push(value, encodeURIComponent(value));
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!isSensitiveHeader(name) || !value) continue;
    found.push(value);
    const scheme = /^\s*[A-Za-z][\w-]*\s+(\S+)\s*$/.exec(value);
    if (scheme?.[1]) found.push(scheme[1]);
  }
  return found;
}
