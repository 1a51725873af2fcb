import sanitizeHtml from 'sanitize-html';

/**
 * The most HTML, in UTF-16 code units (256 Ki, so 256 KiB of ASCII), that `sanitiseRemoteHtml`
 * parses. Longer input is truncated (not refused) before parsing, at a tag boundary, and the
 * result ends in "…": a post that long is abuse or a bug on the far side, yet its start is
 * still worth showing, and refusing would drop the whole post. Mastodon's own limit for a
 * post is 500 characters; 256 Ki leaves room for long Articles.
 */
export const maxRemoteHtmlLength = 256 * 1024;

/** Elements remote content may keep (Mastodon's `MASTODON_STRICT` set, minus ruby). */
export const allowedRemoteTags = [
  'p',
  'br',
  'a',
  'span',
  'strong',
  'b',
  'em',
  'i',
  'u',
  'del',
  's',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
] as const;

/**
 * Classes that carry meaning across servers: microformats (`h-card`, `u-url`, …), mention and
 * hashtag links, Mastodon's link shortening (`invisible` / `ellipsis` spans) and the
 * `quote-inline` fallback paragraph ("RE: …") that clients hide when they show the quote.
 * Any other class is dropped so a remote post cannot borrow our own styles.
 */
const allowedClasses = ['h-*', 'p-*', 'u-*', 'dt-*', 'e-*', 'mention', 'hashtag', 'invisible', 'ellipsis', 'quote-inline'];

const linkSchemes = new Set(['http:', 'https:', 'mailto:']);

/** `rel` of every link in remote content: no referrer, no `window.opener`, no SEO credit. */
const linkRel = 'nofollow noopener noreferrer ugc';

/**
 * The absolute http(s) or mailto URL an `href` really points to, as a browser would resolve it
 * (the WHATWG parser strips tabs, newlines and leading control characters exactly as browsers do,
 * so `java\tscript:` is seen as `javascript:`), or undefined for any other scheme and for
 * relative URLs, which would resolve against our site instead of the author's.
 */
export function safeLinkHref(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  return linkSchemes.has(url.protocol) ? url.href : undefined;
}

/** Block elements outside the allowed set; their content is kept as a paragraph. */
const blockLikeTags = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'div', 'section', 'article', 'header', 'footer', 'main', 'aside', 'nav', 'figure', 'figcaption', 'address', 'details', 'summary', 'dl', 'dt', 'dd', 'table', 'caption', 'tr', 'hr'];

const sanitiseOptions: sanitizeHtml.IOptions = {
  allowedTags: [...allowedRemoteTags],
  allowedAttributes: {
    a: ['href', 'rel', 'target'],
    ol: ['start', 'reversed'],
    li: ['value'],
  },
  allowedClasses: { a: allowedClasses, span: allowedClasses, p: allowedClasses },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: {},
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  allowedStyles: {},
  parseStyleAttributes: false,
  // Unknown elements are unwrapped (their text stays); these lose their content too, because it
  // is code, styling or form furniture rather than prose.
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'select', 'xmp', 'noscript', 'noembed', 'noframes', 'template', 'iframe', 'object', 'title', 'head', 'svg', 'math'],
  transformTags: {
    a: (_tagName, attribs) => {
      const href = safeLinkHref(attribs.href);
      const kept: Record<string, string> = attribs.class ? { class: attribs.class } : {};
      // A link we cannot follow safely keeps its text, as Mastodon does.
      if (href === undefined) return { tagName: 'span', attribs: kept };
      const rel = /(^|\s)tag(\s|$)/i.test(attribs.rel ?? '') ? `tag ${linkRel}` : linkRel;
      return { tagName: 'a', attribs: { ...kept, href, rel, target: '_blank' } };
    },
    // Block elements we do not keep become paragraphs rather than being unwrapped, so their
    // text keeps its own block instead of running into the next word ("<div>a</div><div>b</div>"
    // would read "ab"). Mastodon gets the same effect from Sanitize's whitespace elements.
    ...Object.fromEntries(blockLikeTags.map((tag) => [tag, 'p'])),
  },
  // Paragraphs left empty (spacers, or the shells of blocks the second pass splits) go.
  exclusiveFilter: (frame) => frame.tag === 'p' && frame.text.trim() === '',
  parser: { lowerCaseTags: true, lowerCaseAttributeNames: true, decodeEntities: true },
};

/**
 * Two passes: the first maps unknown blocks to `<p>`, which can leave paragraphs nested
 * (`<figure><figcaption>` becomes `<p><p>`); the second re-parses that output, and the parser
 * closes an open paragraph when another block starts, the way a browser would. The result is
 * stable: sanitising it again changes nothing.
 */
function clean(html: string): string {
  return sanitizeHtml(sanitizeHtml(html, sanitiseOptions), sanitiseOptions);
}

/**
 * Cuts `html` to at most `max` code units without splitting a surrogate pair or leaving half a
 * tag at the end (a dangling `<a href="…` would otherwise be parsed as text or swallow the rest).
 */
function truncateHtml(html: string, max: number): string {
  let cut = html.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  return cut;
}

export interface SanitiseOptions {
  /** Longest input parsed, in UTF-16 code units; longer input is truncated. Default `maxRemoteHtmlLength`. */
  maxLength?: number;
}

/**
 * Makes HTML from another server safe to show on our pages, with Mastodon's rules for remote
 * content: only simple formatting elements survive; links keep only absolute http(s)/mailto
 * `href`s and get `rel="nofollow noopener noreferrer ugc" target="_blank"` (links with any other
 * `href` become spans); `class` keeps only microformat and mention classes; no styles, scripts,
 * images, embeds, forms or event handlers. Unknown elements are unwrapped; the contents of
 * `<script>`, `<style>` and the like are dropped. Input over `maxLength` is truncated first.
 *
 * @example
 * sanitiseRemoteHtml('<p onclick="x()">Hi <a href="https://a.example/@b">@b</a></p>')
 * // '<p>Hi <a href="https://a.example/@b" rel="nofollow noopener noreferrer ugc" target="_blank">@b</a></p>'
 */
export function sanitiseRemoteHtml(html: string, options: SanitiseOptions = {}): string {
  const max = options.maxLength ?? maxRemoteHtmlLength;
  if (html.length <= max) return clean(html);
  return `${clean(truncateHtml(html, max))}…`;
}

const blockTags = new Set(['p', 'blockquote', 'pre', 'ul', 'ol']);

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

export interface PlainTextOptions {
  /** Most characters (code points) returned, "…" included; longer text is cut at a word boundary where one is near. */
  maxLength?: number;
}

/**
 * The text of an HTML fragment, for notifications, summaries and `<title>`s: paragraphs
 * separated by a blank line, `<br>` and list items by a newline, other whitespace collapsed
 * (kept as is inside `<pre>`), entities decoded. Hidden parts of Mastodon's shortened links are
 * kept, so a link reads as its full URL. The input goes through `sanitiseRemoteHtml` first, so
 * scripts and styles never leak into the text and the size of the input is bounded.
 *
 * @example
 * htmlToPlainText('<p>Hello <b>there</b></p><p>Second</p>') // 'Hello there\n\nSecond'
 */
export function htmlToPlainText(html: string, options: PlainTextOptions = {}): string {
  // Sanitised output is well-formed, its only tags are the allowed ones, and `<` and `>` are
  // escaped inside text and attribute values, so a simple tokenizer reads it exactly.
  const safe = sanitiseRemoteHtml(html);
  let out = '';
  let pendingBreak = 0;
  let preDepth = 0;
  // Ends `out` with at least `count` newlines (and no spaces before them).
  const breakLine = (count: number): void => {
    out = out.replace(/ +$/, '');
    const have = /\n*$/.exec(out)?.[0].length ?? 0;
    if (count > have) out += '\n'.repeat(count - have);
  };
  for (const match of safe.matchAll(/<(\/?)([a-z0-9]+)[^>]*>|([^<]+)/g)) {
    const [, closing, tag, text] = match;
    if (text !== undefined) {
      let decoded = text.replace(/&(?:amp|lt|gt|quot);/g, (entity) => entities[entity] ?? entity);
      if (preDepth === 0) decoded = decoded.replace(/[ \t\n\r\f]+/g, ' ');
      if (preDepth === 0 && (out === '' || out.endsWith('\n') || pendingBreak > 0)) decoded = decoded.replace(/^ +/, '');
      if (decoded === '') continue;
      if (pendingBreak > 0 && out !== '') breakLine(pendingBreak);
      pendingBreak = 0;
      out += decoded;
      continue;
    }
    if (tag === 'pre') preDepth = Math.max(0, preDepth + (closing ? -1 : 1));
    if (tag === 'br') {
      breakLine((/\n*$/.exec(out)?.[0].length ?? 0) + 1);
    } else if (tag === 'li') {
      pendingBreak = Math.max(pendingBreak, 1);
    } else if (tag !== undefined && blockTags.has(tag)) {
      pendingBreak = 2;
    }
  }
  const text = out.replace(/[ \t]+\n/g, '\n').trim();
  return options.maxLength === undefined ? text : truncateText(text, options.maxLength);
}

/** Cuts `text` to `max` code points including a final "…", at a word boundary in the last fifth if there is one. */
function truncateText(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  if (max <= 1) return max === 1 ? '…' : '';
  let cut = chars.slice(0, max - 1).join('');
  const space = cut.search(/\s\S*$/);
  if (space > 0 && Array.from(cut.slice(0, space)).length >= (max - 1) * 0.8) cut = cut.slice(0, space);
  return `${cut.trimEnd()}…`;
}
