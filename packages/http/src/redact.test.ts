import { describe, expect, it } from 'vitest';
import { redactHeaders, redactText, redactUrl, secretsOf } from './redact.ts';
import { backoffDelayMs, parseRetryAfter } from './retry-policy.ts';

describe('redactUrl', () => {
  it('hides credential query values and the password, and keeps the rest', () => {
    expect(redactUrl('https://u:pw@api.example/x?key=abc&page=2&access_token=t&apiKey=k&client_secret=s&code=c&q=hello')).toBe(
      'https://u:****@api.example/x?key=****&page=2&access_token=****&apiKey=****&client_secret=****&code=****&q=hello',
    );
  });

  it('hides repeated keys and the keys the caller names', () => {
    expect(redactUrl('https://api.example/?token=a&token=b&sku=1', ['SKU'])).toBe('https://api.example/?token=****&token=****&sku=****');
  });

  it('still hides credentials in something that is not a URL', () => {
    expect(redactUrl('api.example/x?key=abc&page=2')).toBe('api.example/x?key=****&page=2');
    expect(redactUrl('//user:pass@host/x')).toBe('//user:****@host/x');
  });
});

describe('redactHeaders', () => {
  it('hides Authorization, cookies, keys, tokens and signatures', () => {
    expect(
      redactHeaders({
        Authorization: 'Bearer abc',
        Cookie: 'sid=1',
        'X-Api-Key': 'k',
        'X-Ghost-Signature': 'sha256=…',
        'X-Auth-Token': 't',
        Accept: 'application/json',
      }),
    ).toEqual({ Authorization: '****', Cookie: '****', 'X-Api-Key': '****', 'X-Ghost-Signature': '****', 'X-Auth-Token': '****', Accept: 'application/json' });
    expect(redactHeaders(new Headers({ 'set-cookie': 'a=b', 'content-type': 'text/plain' }))).toEqual({ 'set-cookie': '****', 'content-type': 'text/plain' });
  });
});

describe('redactText and secretsOf', () => {
  it('finds the secrets a request carries, the bare token of an Authorization value included', () => {
    const secrets = secretsOf(new URL('https://u:p%40ss@api.example/?key=abc%20d&page=2'), { Authorization: 'Bearer tok123', Accept: 'text/plain' });
    expect(secrets).toEqual(expect.arrayContaining(['p@ss', 'abc d', 'abc%20d', 'Bearer tok123', 'tok123']));
    expect(secrets).not.toContain('2');
    expect(redactText('key abc d, token tok123, header Bearer tok123', secrets)).toBe('key ****, token ****, header ****');
  });

  it('ignores secrets too short to hide without hiding ordinary words', () => {
    expect(redactText('a b c', ['a', 'b'])).toBe('a b c');
  });
});

describe('retry policy', () => {
  it('doubles the back-off, caps it, and takes off the jitter share', () => {
    const settings = { backoffMs: 100, maxBackoffMs: 500, jitter: 0.5 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, settings, () => 0))).toEqual([100, 200, 400, 500, 500]);
    expect(backoffDelayMs(2, settings, () => 0.999)).toBe(100);
  });

  it('reads Retry-After as seconds or as an HTTP date, never negative', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
