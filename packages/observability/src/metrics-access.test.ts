import { describe, expect, it } from 'vitest';
import { isPrivateAddress, metricsAllowed } from './metrics-access.ts';

const noProxies = { token: undefined, isTrustedProxy: () => false };
const caddy = { token: undefined, isTrustedProxy: (address: string) => address === '127.0.0.1' || address === '10.0.0.5' };

describe('metrics access', () => {
  it('knows loopback and private addresses', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '::1', 'fc00::1', 'fd12:3456::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1']) expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '203.0.113.7', '2001:db8::1', 'fe80::1', '::ffff:8.8.8.8', 'localhost', '', undefined]) expect(isPrivateAddress(ip), String(ip)).toBe(false);
  });

  it('without a token, lets in private clients only', () => {
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: undefined }, noProxies)).toBe(true);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '10.2.3.4', forwardedFor: undefined }, noProxies)).toBe(true);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '203.0.113.7', forwardedFor: undefined }, noProxies)).toBe(false);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: undefined, forwardedFor: undefined }, noProxies)).toBe(false);
  });

  it("judges a proxied request by the client the trusted proxy names, not by the proxy's own address", () => {
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: '203.0.113.7' }, caddy)).toBe(false);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: '192.168.1.20' }, caddy)).toBe(true);
    // A client cannot hide behind a private address it writes itself: only trusted hops are skipped.
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: '10.9.9.9, 203.0.113.7' }, caddy)).toBe(false);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: '203.0.113.7, 10.0.0.5' }, caddy)).toBe(false);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: 'not-an-ip' }, caddy)).toBe(false);
  });

  it('refuses a forwarded request from a proxy it does not trust (it cannot tell who sent it)', () => {
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: '203.0.113.7' }, noProxies)).toBe(false);
  });

  it('with a token, wants exactly that bearer token, from anywhere', () => {
    const settings = { token: 'a-long-metrics-token-1234', isTrustedProxy: () => false };
    expect(metricsAllowed({ authorization: 'Bearer a-long-metrics-token-1234', remoteAddress: '203.0.113.7', forwardedFor: undefined }, settings)).toBe(true);
    expect(metricsAllowed({ authorization: 'bearer a-long-metrics-token-1234', remoteAddress: '203.0.113.7', forwardedFor: undefined }, settings)).toBe(true);
    for (const authorization of [undefined, '', 'Bearer', 'Bearer a-long-metrics-token-123', 'Bearer a-long-metrics-token-12345', 'Basic a-long-metrics-token-1234', 'a-long-metrics-token-1234', 'Bearer a-long-metrics-token-1234 extra']) {
      expect(metricsAllowed({ authorization, remoteAddress: '127.0.0.1', forwardedFor: undefined }, settings), String(authorization)).toBe(false);
    }
  });
});
