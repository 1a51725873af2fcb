import { describe, expect, it } from 'vitest';
import { isPrivateAddress, metricsAllowed } from './metrics-access.ts';

const noToken = { token: undefined };

describe('metrics access', () => {
  it('knows loopback and private addresses', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '::1', 'fc00::1', 'fd12:3456::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1']) expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '203.0.113.7', '2001:db8::1', 'fe80::1', '::ffff:8.8.8.8', 'localhost', '', undefined]) expect(isPrivateAddress(ip), String(ip)).toBe(false);
  });

  it('without a token, lets in private clients connecting directly, only', () => {
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor: undefined }, noToken)).toBe(true);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '10.2.3.4', forwardedFor: undefined }, noToken)).toBe(true);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: '203.0.113.7', forwardedFor: undefined }, noToken)).toBe(false);
    expect(metricsAllowed({ authorization: undefined, remoteAddress: undefined, forwardedFor: undefined }, noToken)).toBe(false);
  });

  it('without a token, refuses anything that came through a proxy, whoever the proxy says sent it', () => {
    // Behind Docker's userland proxy Caddy sees every visitor as the bridge gateway (172.17.0.1),
    // and says so in X-Forwarded-For: that must not let the public in.
    for (const forwardedFor of ['172.17.0.1', '192.168.1.20', '127.0.0.1', '203.0.113.7', '10.9.9.9, 203.0.113.7', 'not-an-ip', '', 'for=10.0.0.7']) {
      expect(metricsAllowed({ authorization: undefined, remoteAddress: '127.0.0.1', forwardedFor }, noToken), forwardedFor).toBe(false);
      expect(metricsAllowed({ authorization: undefined, remoteAddress: '10.0.0.5', forwardedFor }, noToken), forwardedFor).toBe(false);
    }
  });

  it('with a token, wants exactly that bearer token, from anywhere (through a proxy too)', () => {
    const settings = { token: 'a-long-metrics-token-1234' };
    expect(metricsAllowed({ authorization: 'Bearer a-long-metrics-token-1234', remoteAddress: '203.0.113.7', forwardedFor: undefined }, settings)).toBe(true);
    expect(metricsAllowed({ authorization: 'bearer a-long-metrics-token-1234', remoteAddress: '203.0.113.7', forwardedFor: undefined }, settings)).toBe(true);
    expect(metricsAllowed({ authorization: 'Bearer a-long-metrics-token-1234', remoteAddress: '127.0.0.1', forwardedFor: '203.0.113.7' }, settings)).toBe(true);
    for (const authorization of [undefined, '', 'Bearer', 'Bearer a-long-metrics-token-123', 'Bearer a-long-metrics-token-12345', 'Basic a-long-metrics-token-1234', 'a-long-metrics-token-1234', 'Bearer a-long-metrics-token-1234 extra']) {
      // A private address is no way in once a token is set.
      expect(metricsAllowed({ authorization, remoteAddress: '127.0.0.1', forwardedFor: undefined }, settings), String(authorization)).toBe(false);
    }
  });
});
