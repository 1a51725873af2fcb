/** What a simple mail says; `renderMail` lays it out as text and as HTML. */
export interface MailContent {
  /** The site's name as readers know it (the site settings' title): the HTML title and the signature. */
  readonly siteName: string;
  /** The first line, `Welcome to Mill Lane Co-op, Ann!`. */
  readonly greeting: string;
  /** Before the action. A `\n` inside one is a line break; http(s) URLs become links in the HTML. */
  readonly paragraphs: readonly string[];
  /** The one thing to do: a button in the HTML; its label and URL on their own lines in the text. */
  readonly action?: { readonly label: string; readonly url: string };
  /** After the action: what to do if this was not you, say. */
  readonly closing?: readonly string[];
  /** The language of the HTML document. Default `en`. */
  readonly lang?: string;
}

export interface RenderedMail {
  readonly text: string;
  readonly html: string;
}

/**
 * Lays out a mail as plain text and as HTML with the same words. Everything given is text:
 * it is escaped in the HTML, so a display name or a site name cannot add markup.
 *
 * @example
 * const { text, html } = renderMail({
 *   siteName: 'Mill Lane Co-op',
 *   greeting: 'Welcome to Mill Lane Co-op, Ann!',
 *   paragraphs: ['Confirm your address within 24 hours.'],
 *   action: { label: 'Confirm your address', url },
 *   closing: ['If you did not sign up, ignore this message.'],
 * });
 */
export function renderMail(content: MailContent): RenderedMail {
  const action = content.action;
  if (action && !/^https?:\/\//i.test(action.url)) throw new RangeError(`A mail action must link to an http(s) URL, got ${JSON.stringify(action.url.slice(0, 40))}`);
  const closing = content.closing ?? [];

  const textBlocks = [content.greeting, ...content.paragraphs, ...(action ? [`${action.label}:\n${action.url}`] : []), ...closing];
  // "-- " (with its space) starts a signature: mail programs grey it out and leave it out of replies.
  const text = `${textBlocks.join('\n\n')}\n\n-- \n${content.siteName}\n`;

  const para = (body: string, style = 'margin:0 0 16px;line-height:1.5;') => `<p style="${style}">${body}</p>`;
  const html = [
    '<!doctype html>',
    `<html lang="${escapeHtml(content.lang ?? 'en')}">`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(content.siteName)}</title></head>`,
    '<body style="margin:0;padding:24px 12px;background:#f5f4f0;color:#1d1d1b;font-family:system-ui,-apple-system,\'Segoe UI\',Roboto,sans-serif;font-size:16px;">',
    '<div style="max-width:560px;margin:0 auto;background:#ffffff;padding:28px 24px;border-radius:6px;">',
    para(lines(content.greeting), 'margin:0 0 20px;font-size:18px;font-weight:600;'),
    ...content.paragraphs.map((p) => para(linked(p))),
    ...(action
      ? [
          `<p style="margin:24px 0;"><a href="${escapeHtml(action.url)}" style="display:inline-block;background:#2d5a3d;color:#ffffff;padding:12px 20px;border-radius:4px;text-decoration:none;font-weight:600;">${escapeHtml(action.label)}</a></p>`,
          para(`If the button does not work, open this address: <a href="${escapeHtml(action.url)}" style="color:#2d5a3d;word-break:break-all;">${escapeHtml(action.url)}</a>`, 'margin:0 0 16px;line-height:1.5;font-size:14px;color:#55554f;'),
        ]
      : []),
    ...closing.map((p) => para(linked(p), 'margin:0 0 16px;line-height:1.5;font-size:14px;color:#55554f;')),
    para(escapeHtml(content.siteName), 'margin:28px 0 0;font-size:13px;color:#77776f;'),
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return { text, html };
}

/** `&`, `<`, `>`, `"` and `'` as entities: safe in element text and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function lines(text: string): string {
  return text.split('\n').map(escapeHtml).join('<br>');
}

// A URL up to whitespace, not ending in punctuation that more likely closes the sentence.
const urlPattern = /https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]']/g;

/** Escaped text with its http(s) URLs turned into links, and `\n` into line breaks. */
function linked(text: string): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    const url = match[0];
    out += lines(text.slice(last, match.index));
    out += `<a href="${escapeHtml(url)}" style="color:#2d5a3d;">${escapeHtml(url)}</a>`;
    last = match.index + url.length;
  }
  return out + lines(text.slice(last));
}
