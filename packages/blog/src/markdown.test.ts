import { describe, expect, it } from 'vitest';
import { countWords, htmlToText, readingMinutes, renderMarkdown } from './markdown.ts';

describe('markdown and text helpers', () => {
  it('renders markdown and strips anything executable', () => {
    const html = renderMarkdown('# Hi\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>bad()</script> [ext](https://example.org)');
    expect(html).toContain('<h1>Hi</h1>');
    expect(html).not.toMatch(/onerror|javascript:|<script/);
    expect(html).toContain('<a href="https://example.org" rel="noopener noreferrer">ext</a>');
  });

  it('counts words across tags the way a reader sees them', () => {
    expect(countWords('<p>One two<br/>three</p><ul><li>four</li></ul>')).toBe(4);
    expect(countWords('<p class="a b c">x</p>')).toBe(1);
    expect(countWords(htmlToText('<p>a &amp; b</p>'))).toBe(3);
    expect(readingMinutes('<p>word</p>')).toBe(1);
    expect(readingMinutes(`<p>${'word '.repeat(265 * 4)}</p>`)).toBe(4);
  });
});
