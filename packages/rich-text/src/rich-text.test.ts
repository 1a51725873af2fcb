import { describe, expect, it } from 'vitest';
import { countWords, htmlToText, readingMinutes, renderMarkdown, sanitizePostHtml } from './rich-text.ts';

describe('markdown and text helpers', () => {
  it('renders markdown and strips anything executable', () => {
    const html = renderMarkdown('# Hi\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>bad()</script> [ext](https://example.org)');
    expect(html).toContain('<h1>Hi</h1>');
    expect(html).not.toMatch(/onerror|javascript:|<script/);
    expect(html).toContain('<a href="https://example.org" rel="noopener noreferrer">ext</a>');
  });

  it('keeps Ghost cards and allow-listed embeds, drops other iframes and inline styles', () => {
    const html = sanitizePostHtml(
      '<figure class="kg-card kg-embed-card"><iframe src="https://www.youtube.com/embed/x" allowfullscreen></iframe></figure>' +
        '<iframe src="https://evil.example/x"></iframe><p style="color:red" onclick="x()">Hi</p>' +
        '<video src="https://ghost.example/content/media/a.mp4" controls></video>',
    );
    expect(html).toContain('<figure class="kg-card kg-embed-card"><iframe src="https://www.youtube.com/embed/x" allowfullscreen></iframe></figure>');
    expect(html).not.toContain('evil.example');
    expect(html).toContain('<p>Hi</p>');
    expect(html).toContain('<video src="https://ghost.example/content/media/a.mp4" controls></video>');
  });

  it('counts words across tags the way a reader sees them', () => {
    expect(countWords('<p>One two<br/>three</p><ul><li>four</li></ul>')).toBe(4);
    expect(countWords('<p class="a b c">x</p>')).toBe(1);
    expect(countWords(htmlToText('<p>a &amp; b</p>'))).toBe(3);
    expect(readingMinutes('<p>word</p>')).toBe(1);
    expect(readingMinutes(`<p>${'word '.repeat(265 * 4)}</p>`)).toBe(4);
  });
});
