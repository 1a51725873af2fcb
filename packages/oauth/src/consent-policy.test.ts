import { describe, expect, it } from 'vitest';
import { consentPagePolicy } from './provider.ts';

describe('the consent page policy', () => {
  it('lets Allow and Deny redirect to the application, and nowhere else; never framed', () => {
    expect(consentPagePolicy('https://app.example/cb?x=1')).toBe("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self' https://app.example; frame-ancestors 'none'");
    expect(consentPagePolicy('http://127.0.0.1:8123/callback')).toContain("form-action 'self' http://127.0.0.1:8123;");
    expect(consentPagePolicy('com.example.app:/cb')).toContain("form-action 'self' com.example.app:;");
    // No redirect URI to name: no form-action at all rather than a dead end.
    expect(consentPagePolicy(undefined)).toBe("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'");
  });
});
