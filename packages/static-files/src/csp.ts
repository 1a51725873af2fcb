import { createHash } from 'node:crypto';

const scriptElement = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
const srcAttribute = /\ssrc\s*=/i;

/**
 * CSP source expressions (`'sha256-…'`) for the inline scripts of a built page: Astro's
 * server-island loader and `is:inline` scripts. Post bodies are sanitised before they are
 * stored (no `<script>` survives), so every inline script in a built page is the build's own.
 */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>();
  for (const m of html.matchAll(scriptElement)) {
    if (srcAttribute.test(m[1]!)) continue;
    hashes.add(`'sha256-${createHash('sha256').update(m[2]!, 'utf8').digest('base64')}'`);
  }
  return [...hashes];
}

/**
 * The policy for a static HTML page: scripts only from this origin or inline ones the build
 * wrote (by hash); islands are fetched from this origin; images and embeds (already limited
 * by the sanitiser) over https; no plugins, no `<base>` tricks, framed only by this site.
 * Inline styles stay allowed: Astro inlines the page's CSS and islands use style attributes.
 */
export function htmlPolicy(scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self'${scriptHashes.length ? ` ${scriptHashes.join(' ')}` : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "media-src 'self' https:",
    'frame-src https:',
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/** Feeds, JSON, images, scripts opened directly: nothing in them may run or load. */
export const assetPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'";

/**
 * Added to on-demand responses that set no policy of their own: limits framing, `<base>` and
 * plugins without restricting the scripts of pages we do not build (the OpenID provider's).
 */
export const defaultDynamicPolicy = "frame-ancestors 'self'; base-uri 'self'; object-src 'none'";

export const baseSecurityHeaders = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'strict-origin-when-cross-origin' } as const;
