import { describe, expect, it } from 'vitest';
import { renderMail } from './render-mail.ts';

describe('renderMail', () => {
  const content = {
    siteName: 'Mill Lane Co-op',
    greeting: 'Welcome to Mill Lane Co-op, Ann!',
    paragraphs: ['Confirm your address within 24 hours.'],
    action: { label: 'Confirm your address', url: 'https://mill-lane.example/auth/verify?token=abc&x=1' },
    closing: ['If you did not sign up, ignore this message.'],
  };

  it('writes the text: greeting, paragraphs, the action as label and URL, closing, and the site as signature', () => {
    expect(renderMail(content).text).toBe(
      [
        'Welcome to Mill Lane Co-op, Ann!',
        '',
        'Confirm your address within 24 hours.',
        '',
        'Confirm your address:',
        'https://mill-lane.example/auth/verify?token=abc&x=1',
        '',
        'If you did not sign up, ignore this message.',
        '',
        '-- ',
        'Mill Lane Co-op',
        '',
      ].join('\n'),
    );
  });

  it('writes the same words as HTML, the action as a button with the address spelt out', () => {
    const { html } = renderMail(content);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<title>Mill Lane Co-op</title>');
    expect(html).toContain('>Welcome to Mill Lane Co-op, Ann!</p>');
    expect(html).toContain('>Confirm your address within 24 hours.</p>');
    expect(html).toContain('<a href="https://mill-lane.example/auth/verify?token=abc&amp;x=1" style="display:inline-block;');
    expect(html).toContain('>Confirm your address</a>');
    expect(html).toContain('>https://mill-lane.example/auth/verify?token=abc&amp;x=1</a>');
    expect(html).toContain('>If you did not sign up, ignore this message.</p>');
  });

  it('escapes whatever it is given, so a name or a site title cannot add markup', () => {
    const { html, text } = renderMail({
      siteName: 'Tom & Jerry\'s <b>Co-op</b>',
      greeting: 'Welcome, <img src=x onerror="alert(1)">!',
      paragraphs: ['Line one\nline "two"'],
    });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('Welcome, &lt;img src=x onerror=&quot;alert(1)&quot;&gt;!');
    expect(html).toContain('<title>Tom &amp; Jerry&#39;s &lt;b&gt;Co-op&lt;/b&gt;</title>');
    expect(html).toContain('>Line one<br>line &quot;two&quot;</p>');
    // The text is text: nothing to escape.
    expect(text).toContain('Welcome, <img src=x onerror="alert(1)">!');
  });

  it('links the http(s) addresses in paragraphs, leaving out the sentence\'s final punctuation', () => {
    const { html } = renderMail({ siteName: 'S', greeting: 'Hello.', paragraphs: ['Sign in: https://s.example/auth/login. Or reset: https://s.example/auth/reset?a=1&b=2'] });
    expect(html).toContain(
      'Sign in: <a href="https://s.example/auth/login" style="color:#2d5a3d;">https://s.example/auth/login</a>. Or reset: <a href="https://s.example/auth/reset?a=1&amp;b=2" style="color:#2d5a3d;">https://s.example/auth/reset?a=1&amp;b=2</a>',
    );
  });

  it('refuses an action that is not an http(s) link', () => {
    expect(() => renderMail({ ...content, action: { label: 'Go', url: 'javascript:alert(1)' } })).toThrow(RangeError);
  });
});
