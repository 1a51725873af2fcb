import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowedRemoteTags, htmlToPlainText, maxRemoteHtmlLength, safeLinkHref, sanitiseRemoteHtml } from './sanitise.ts';

const rel = 'rel="nofollow noopener noreferrer ugc" target="_blank"';

const allowedAttributes: Record<string, readonly string[]> = {
  a: ['href', 'rel', 'target', 'class'],
  span: ['class'],
  p: ['class'],
  ol: ['start', 'reversed'],
  li: ['value'],
};
const allowedClass = /^(h-|p-|u-|dt-|e-)|^(mention|hashtag|invisible|ellipsis|quote-inline)$/;

/**
 * Fails unless `html` is markup a browser can only render as the allowed elements: every tag is
 * in the allowed set with only its allowed attributes, every class is allowed, every href is an
 * absolute http(s)/mailto URL. Sanitised output escapes `<`, `>` and `"` in text and attribute
 * values, so scanning it with regular expressions is exact.
 */
function expectSafeMarkup(html: string): void {
  for (const [, closing, name, attributes = ''] of html.matchAll(/<(\/?)([^\s/>]+)((?:\s+[^\s=/>]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    expect(allowedRemoteTags as readonly string[]).toContain(name);
    if (closing) continue;
    for (const [, attribute, value = ''] of attributes.matchAll(/\s+([^\s=/>]+)(?:="([^"]*)")?/g)) {
      expect(allowedAttributes[name ?? ''] ?? []).toContain(attribute);
      if (attribute === 'href') expect(value).toMatch(/^(https?:\/\/[^/]|mailto:)/);
      if (attribute === 'class') for (const token of value.split(/\s+/)) expect(token).toMatch(allowedClass);
    }
  }
  // Nothing that looks like a tag is left unparsed by the scan above.
  expect(html.replace(/<(\/?)([^\s/>]+)((?:\s+[^\s=/>]+(?:="[^"]*")?)*)\s*\/?>/g, '')).not.toMatch(/[<>]/);
}

describe('expectSafeMarkup (the check the tests below rely on)', () => {
  it.each([
    '<img src="x">',
    '<p onclick="x">a</p>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="/relative">x</a>',
    '<span class="btn">x</span>',
    '<p style="color:red">x</p>',
    '<p>a < b</p>',
  ])('rejects %s', (html) => {
    expect(() => expectSafeMarkup(html)).toThrow();
  });
});

describe('sanitiseRemoteHtml', () => {
  it('keeps the formatting Mastodon keeps', () => {
    const html =
      '<p>One <strong>two</strong> <b>b</b> <em>three</em> <i>i</i> <u>u</u> <del>four</del> <s>s</s><br>five</p>' +
      '<blockquote><p>quoted</p></blockquote><pre><code>let x = 1;\n</code></pre>' +
      '<ul><li>a</li></ul><ol start="3" reversed><li value="7">b</li></ol>';
    expect(sanitiseRemoteHtml(html)).toBe(
      '<p>One <strong>two</strong> <b>b</b> <em>three</em> <i>i</i> <u>u</u> <del>four</del> <s>s</s><br />five</p>' +
        '<blockquote><p>quoted</p></blockquote><pre><code>let x = 1;\n</code></pre>' +
        '<ul><li>a</li></ul><ol start="3" reversed><li value="7">b</li></ol>',
    );
  });

  it('gives every link rel="nofollow noopener noreferrer ugc" and target="_blank", whatever it had', () => {
    expect(sanitiseRemoteHtml('<a href="https://a.example/x" rel="opener" target="_self" title="t">x</a>')).toBe(
      `<a href="https://a.example/x" ${rel}>x</a>`,
    );
    // A hashtag link keeps rel="tag", which says what it is.
    expect(sanitiseRemoteHtml('<a href="https://a.example/tags/x" class="mention hashtag" rel="tag">#<span>x</span></a>')).toBe(
      `<a class="mention hashtag" href="https://a.example/tags/x" rel="tag nofollow noopener noreferrer ugc" target="_blank">#<span>x</span></a>`,
    );
    expect(sanitiseRemoteHtml('<a href="mailto:ana@a.example">mail</a>')).toBe(`<a href="mailto:ana@a.example" ${rel}>mail</a>`);
  });

  it('keeps only microformat and mention classes', () => {
    expect(
      sanitiseRemoteHtml('<p class="quote-inline lead"><span class="h-card p-name x-evil" translate="no"><a href="https://a.example/@b" class="u-url mention btn-danger">@<span class="invisible">b</span></a></span></p>'),
    ).toBe(
      `<p class="quote-inline"><span class="h-card p-name"><a class="u-url mention" href="https://a.example/@b" ${rel}>@<span class="invisible">b</span></a></span></p>`,
    );
  });

  it.each([
    ['a script element, with its contents', '<p>hi</p><script>alert(document.cookie)</script>', '<p>hi</p>'],
    ['a script with an odd closing tag', '<script>alert(1)</script x><p>after</p>', '<p>after</p>'],
    ['an image with onerror', '<p>x<img src=x onerror="alert(1)">y</p>', '<p>xy</p>'],
    ['event handlers on allowed elements', '<p onclick="alert(1)" onmouseover=alert(2)>hi</p>', '<p>hi</p>'],
    ['inline styles', '<p style="position:fixed;top:0;left:0;width:100%;height:100%">cover</p>', '<p>cover</p>'],
    ['a style element, with its contents', '<style>body{display:none}</style><p>x</p>', '<p>x</p>'],
    ['a remote stylesheet', '<link rel="stylesheet" href="https://evil.example/x.css"><p>x</p>', '<p>x</p>'],
    ['CSS imports inside a style element', '<style>@import url(https://evil.example/x.css)</style>ok', 'ok'],
    ['a javascript: link', '<a href="javascript:alert(1)">x</a>', '<span>x</span>'],
    ['a javascript: link in mixed case with spaces', '<a href="  JaVaScRiPt:alert(1)">x</a>', '<span>x</span>'],
    ['a javascript: link hidden with an entity', '<a href="jav&#x61;script:alert(1)">x</a>', '<span>x</span>'],
    ['a javascript: link hidden with a decimal entity', '<a href="&#106;avascript&#58;alert(1)">x</a>', '<span>x</span>'],
    ['a javascript: link split by a tab', '<a href="java\tscript:alert(1)">x</a>', '<span>x</span>'],
    ['a javascript: link split by an encoded newline', '<a href="java&#10;script:alert(1)">x</a>', '<span>x</span>'],
    ['a javascript: link after a control character', '<a href="\u0001javascript:alert(1)">x</a>', '<span>x</span>'],
    ['a vbscript: link', '<a href="vbscript:msgbox(1)">x</a>', '<span>x</span>'],
    ['a data: link', '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', '<span>x</span>'],
    ['a relative link', '<a href="/admin/delete">x</a>', '<span>x</span>'],
    ['a protocol-relative link', '<a href="//evil.example/">x</a>', '<span>x</span>'],
    ['a link with no href', '<a name="top" class="mention">x</a>', '<span class="mention">x</span>'],
    ['svg with onload', '<svg onload="alert(1)"><circle r="5"/></svg><p>x</p>', '<p>x</p>'],
    ['svg smuggling an image through a style element', '<svg><style><img src=x onerror=alert(1)></style></svg>ok', 'ok'],
    ['math smuggling an image', '<math><mi><mglyph><style><img src=x onerror=alert(1)>', ''],
    ['noscript smuggling an image (mXSS)', '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', ''],
    ['an iframe, with its fallback markup', '<iframe src="https://evil.example"><p>fallback</p></iframe>after', 'after'],
    ['object and embed', '<object data="https://evil.example/x.swf"><embed src="x.swf"></object>ok', 'ok'],
    ['a form', '<form action="https://evil.example"><input name="password"><button>Log in</button></form>', 'Log in'],
    ['a meta refresh', '<meta http-equiv="refresh" content="0;url=https://evil.example">ok', 'ok'],
    ['a base element', '<base href="https://evil.example/"><a href="https://a.example/">x</a>', `<a href="https://a.example/" ${rel}>x</a>`],
    ['a textarea breakout', '<textarea></textarea/><img src=x onerror=alert(1)></textarea>t', 't'],
    ['unknown inline elements (text kept)', '<font color="red">red</font> <marquee>moving</marquee> <sup>2</sup>', 'red moving 2'],
    ['unclosed markup', '<p>unclosed <b>bold <i>both', '<p>unclosed <b>bold <i>both</i></b></p>'],
    ['stray closing tags', '</p></b>text</a></script>', 'text'],
    ['comments and CDATA', '<!-- <script>x</script> --><p>a</p><![CDATA[<img src=x>]]>', '<p>a</p>'],
    ['an attribute breaking out of its quotes', '<a href="https://a.example/" title="x" onmouseover="alert(1)"">x</a>', `<a href="https://a.example/" ${rel}>x</a>`],
  ])('removes %s', (_what, input, expected) => {
    const output = sanitiseRemoteHtml(input);
    expect(output).toBe(expected);
    expectSafeMarkup(output);
  });

  it('turns blocks it does not keep into paragraphs so their words stay apart', () => {
    expect(sanitiseRemoteHtml('<h1>Title</h1><div>one</div><div>two</div>')).toBe('<p>Title</p><p>one</p><p>two</p>');
    // Ghost's figure card: the image goes, the caption stays a paragraph, nothing nests.
    expect(
      sanitiseRemoteHtml('<p>a</p><figure class="kg-card"><img src="https://a.example/i.jpg"><figcaption><span style="white-space: pre-wrap;">Caption</span></figcaption></figure>'),
    ).toBe('<p>a</p><p><span>Caption</span></p>');
  });

  it('escapes text so it cannot become markup', () => {
    expect(sanitiseRemoteHtml('<p>1 &lt; 2 &amp;&amp; 3 &gt; 2: &lt;script&gt;</p>')).toBe('<p>1 &lt; 2 &amp;&amp; 3 &gt; 2: &lt;script&gt;</p>');
  });

  it('truncates input longer than the limit at a tag boundary, then marks the cut', () => {
    const html = '<p>abc</p><a href="https://a.example/a-long-path">link</a>';
    // The cut falls inside the <a> start tag: it is dropped rather than parsed as text.
    expect(sanitiseRemoteHtml(html, { maxLength: 25 })).toBe('<p>abc</p>…');
    expect(sanitiseRemoteHtml('<p>😀😀😀</p>', { maxLength: 6 })).toBe('<p>😀</p>…');
  });

  it('parses at most maxRemoteHtmlLength characters of a huge post', () => {
    const paragraph = '<p>All work and no play makes Jack a dull boy.</p>';
    const huge = paragraph.repeat(Math.ceil((maxRemoteHtmlLength * 2) / paragraph.length));
    const output = sanitiseRemoteHtml(huge);
    expect(output.endsWith('…')).toBe(true);
    expect(output.length).toBeLessThanOrEqual(maxRemoteHtmlLength + 10);
    expect(output.length).toBeGreaterThan(maxRemoteHtmlLength - paragraph.length * 2);
    expectSafeMarkup(output.slice(0, -1));
  });

  it('copes with very deep nesting', () => {
    const deep = `${'<span><b>'.repeat(5_000)}deep${'</b></span>'.repeat(5_000)}`;
    const output = sanitiseRemoteHtml(deep);
    expect(htmlToPlainText(output)).toBe('deep');
    expectSafeMarkup(output);
  });

  it('is stable: sanitising its own output changes nothing', () => {
    const fixtures = new URL('./fixtures/', import.meta.url);
    const contents = readdirSync(fixtures).map((file) => (JSON.parse(readFileSync(new URL(file, fixtures), 'utf8')) as { object: { content?: string } }).object.content ?? '');
    for (const html of [...contents, '<p>a<div>b</div>c</p>', '<ul><li><p>x</p><div>y</div></li></ul>']) {
      const once = sanitiseRemoteHtml(html);
      expect(sanitiseRemoteHtml(once)).toBe(once);
    }
  });

  it('never lets unsafe markup through random mixes of hostile fragments', () => {
    const fragments = [
      '<p>', '</p>', '<a href="javascript:alert(1)">', '<a href="https://ok.example/?q=<x>&y=1">', '</a>', '<img src=x onerror=alert(1)>',
      '<svg onload=alert(1)>', '</svg>', '<style>', '</style>', '<script>', '</script>', '<noscript>', '</noscript>', '<textarea>', '</textarea>',
      '<iframe>', '</iframe>', '<math><mtext>', '<table><td>', '<div class="x" style="color:red">', '</div>', '"', "'", '>', '<', '&lt;', '&#x3C;',
      '<b onclick=x>', '</b>', '<!--', '-->', '<![CDATA[', ']]>', 'text ', '<span class="h-card evil">', '</span>', '<a href="jav&#x09;ascript:x">',
      '<option><style></option></select><img src=x onerror=alert(1)></style>', '<xmp>', '</xmp>', '<title>', '</title>', '<br/>', '<p/>',
    ];
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    for (let round = 0; round < 400; round++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 12) }, () => fragments[Math.floor(random() * fragments.length)]);
      const output = sanitiseRemoteHtml(parts.join(''));
      expectSafeMarkup(output);
      expect(output).not.toMatch(/<(img|script|style|svg|iframe)/i);
    }
  });
});

describe('safeLinkHref', () => {
  it('accepts absolute http(s) and mailto URLs, normalised as a browser reads them', () => {
    expect(safeLinkHref('https://A.example/x y')).toBe('https://a.example/x%20y');
    expect(safeLinkHref('  https://a.example/\n')).toBe('https://a.example/');
    expect(safeLinkHref('mailto:a@b.example')).toBe('mailto:a@b.example');
  });

  it('refuses every other scheme, relative URLs and non-URLs', () => {
    for (const href of ['javascript:alert(1)', 'java\nscript:x', 'data:text/html,x', 'ftp://a.example/', '/x', '//a.example/x', 'x', '', undefined]) {
      expect(safeLinkHref(href)).toBeUndefined();
    }
  });
});

describe('htmlToPlainText', () => {
  it('separates paragraphs with a blank line and breaks, list items with a newline', () => {
    expect(htmlToPlainText('<p>Hello <b>there</b>,\n  friend</p>\n<p>Line one<br>line two</p><ul><li>apples</li><li>pears</li></ul><p>end</p>')).toBe(
      'Hello there, friend\n\nLine one\nline two\n\napples\npears\n\nend',
    );
  });

  it('keeps the whitespace of preformatted text', () => {
    expect(htmlToPlainText('<p>code:</p><pre><code>if (x) {\n  go();\n}</code></pre>')).toBe('code:\n\nif (x) {\n  go();\n}');
  });

  it('decodes entities and reads shortened links as their full URL', () => {
    expect(htmlToPlainText('<p>Tom &amp; Jerry &lt;3 &quot;x&quot; &#39;y&#39; caf&eacute;</p>')).toBe('Tom & Jerry <3 "x" \'y\' café');
    expect(
      htmlToPlainText('<a href="https://a.example/blog/post"><span class="invisible">https://</span><span class="ellipsis">a.example/blo</span><span class="invisible">g/post</span></a>'),
    ).toBe('https://a.example/blog/post');
  });

  it('leaves out scripts, styles and other hidden content', () => {
    expect(htmlToPlainText('<style>p{}</style><p>visible</p><script>var secret = 1</script><template>t</template>')).toBe('visible');
  });

  it('bounds the length, cutting at a word where it can and never inside a character', () => {
    const text = '<p>The quick brown fox jumps over the lazy dog</p>';
    expect(htmlToPlainText(text, { maxLength: 100 })).toBe('The quick brown fox jumps over the lazy dog');
    expect(htmlToPlainText(text, { maxLength: 20 })).toBe('The quick brown fox…');
    expect(htmlToPlainText('<p>Supercalifragilisticexpialidocious</p>', { maxLength: 10 })).toBe('Supercali…');
    const emoji = htmlToPlainText('<p>😀😀😀😀😀</p>', { maxLength: 3 });
    expect(emoji).toBe('😀😀…');
    expect(Array.from(emoji)).toHaveLength(3);
    expect(htmlToPlainText(text, { maxLength: 1 })).toBe('…');
  });

  it('returns an empty string for markup without text', () => {
    expect(htmlToPlainText('<p> </p><img src="x"><br>')).toBe('');
  });
});
