import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

const marked = new Marked({ gfm: true, async: false });

/** Embeds Ghost's cards use and that we let through; any other iframe is dropped. */
const embedHosts = ['www.youtube.com', 'www.youtube-nocookie.com', 'youtube.com', 'player.vimeo.com', 'w.soundcloud.com', 'open.spotify.com', 'www.google.com', 'codepen.io'];

/**
 * Tags and attributes a post body may keep; everything else (scripts, event handlers, inline
 * styles, forms, iframes from other hosts) goes. `class` stays so Ghost's cards (`kg-*`)
 * can be styled; it cannot run code.
 */
const sanitizeOptions: sanitizeHtml.IOptions = {
  allowedTags: [
    ...sanitizeHtml.defaults.allowedTags,
    'iframe',
    'video',
    'audio',
    'track',
    'figure',
    'figcaption',
    'picture',
    'source',
    'del',
    'ins',
    'sup',
    'sub',
    'details',
    'summary',
  ],
  allowedAttributes: {
    ...sanitizeHtml.defaults.allowedAttributes,
    a: ['href', 'name', 'target', 'rel', 'title'],
    img: ['src', 'srcset', 'alt', 'title', 'width', 'height', 'loading', 'sizes'],
    source: ['src', 'srcset', 'type', 'media', 'sizes'],
    iframe: ['src', 'width', 'height', 'title', 'allow', 'allowfullscreen', 'loading', 'frameborder'],
    video: ['src', 'poster', 'width', 'height', 'controls', 'loop', 'muted', 'playsinline', 'preload'],
    audio: ['src', 'controls', 'preload'],
    track: ['src', 'kind', 'srclang', 'label'],
    th: ['align', 'scope', 'colspan', 'rowspan'],
    td: ['align', 'colspan', 'rowspan'],
    '*': ['id', 'class', 'lang', 'dir'],
  },
  allowedIframeHostnames: embedHosts,
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowProtocolRelative: false,
  transformTags: {
    // Links leaving the site must not hand it `window.opener`.
    a: (tagName, attribs) => {
      const href = attribs.href ?? '';
      if (/^https?:\/\//i.test(href)) return { tagName, attribs: { ...attribs, rel: 'noopener noreferrer' } };
      return { tagName, attribs };
    },
  },
};

/** Cleans HTML from any source (markdown we render, Ghost, editors) before it is stored. */
export function sanitizePostHtml(html: string): string {
  return sanitizeHtml(html, sanitizeOptions);
}

export function renderMarkdown(markdown: string): string {
  return sanitizePostHtml(marked.parse(markdown) as string);
}

/** Plain text of an HTML fragment, for word counts and feed summaries. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Minutes to read at 265 words a minute (Medium's and Ghost's figure), at least 1.
 * Counts words in one pass without building intermediate strings: a snapshot computes this
 * for every post, and the string-replace version cost ~90 KiB of garbage per post.
 */
export function readingMinutes(html: string): number {
  return Math.max(1, Math.round(countWords(html) / 265));
}

export function countWords(html: string): number {
  let count = 0;
  let inTag = false;
  let inWord = false;
  for (let i = 0; i < html.length; i++) {
    const c = html.charCodeAt(i);
    if (inTag) {
      if (c === 62 /* > */) inTag = false;
      continue;
    }
    if (c === 60 /* < */) {
      inTag = true;
      inWord = false;
    } else if (c <= 32) {
      inWord = false;
    } else if (!inWord) {
      inWord = true;
      count++;
    }
  }
  return count;
}
