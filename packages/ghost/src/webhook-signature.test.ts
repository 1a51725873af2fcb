import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signGhostPayload, verifyGhostSignature } from './webhook-signature.ts';

const secret = 'a-webhook-secret-of-32-characters';
const body = JSON.stringify({ post: { current: { id: '6751b3d4e4b0f10001a1c001', title: 'Harvest supper' }, previous: {} } });
const sentAt = new Date('2026-11-24T10:15:00.123Z');
const later = (ms: number) => new Date(sentAt.getTime() + ms);

/** Exactly what Ghost 6 sends (services/webhooks/webhook-trigger.js), written out independently. */
function ghostHeader(payload: string, key: string, ts: number): string {
  return `sha256=${createHmac('sha256', key).update(`${payload}${ts}`).digest('hex')}, t=${ts}`;
}

describe('verifyGhostSignature', () => {
  it('accepts a delivery signed the way Ghost signs it, and returns its timestamp', () => {
    const header = ghostHeader(body, secret, sentAt.getTime());
    expect(signGhostPayload(body, secret, sentAt)).toBe(header);
    expect(verifyGhostSignature({ header, body, secret, now: later(1_500) })).toEqual({ ok: true, value: { timestamp: sentAt } });
  });

  it('accepts the raw body as bytes and the header as Node hands over a repeated header', () => {
    const header = ghostHeader(body, secret, sentAt.getTime());
    expect(verifyGhostSignature({ header: [header], body: Buffer.from(body), secret, now: sentAt }).ok).toBe(true);
  });

  it('rejects a tampered body', () => {
    const header = signGhostPayload(body, secret, sentAt);
    const tampered = body.replace('Harvest supper', 'Harvest supper (cancelled)');
    expect(verifyGhostSignature({ header, body: tampered, secret, now: sentAt })).toEqual({ ok: false, error: { type: 'bad-signature' } });
  });

  it('rejects a body re-serialised from parsed JSON (whitespace differs)', () => {
    const raw = '{"post": {"current": {"id": "1"}}}';
    const header = signGhostPayload(raw, secret, sentAt);
    const reserialised = JSON.stringify(JSON.parse(raw));
    expect(verifyGhostSignature({ header, body: reserialised, secret, now: sentAt })).toEqual({ ok: false, error: { type: 'bad-signature' } });
  });

  it('rejects a signature made with another secret', () => {
    const header = signGhostPayload(body, 'someone-elses-secret', sentAt);
    expect(verifyGhostSignature({ header, body, secret, now: sentAt })).toEqual({ ok: false, error: { type: 'bad-signature' } });
  });

  it('rejects a changed timestamp, since the timestamp is signed too', () => {
    const header = signGhostPayload(body, secret, sentAt).replace(/t=\d+$/, `t=${sentAt.getTime() + 1000}`);
    expect(verifyGhostSignature({ header, body, secret, now: sentAt })).toEqual({ ok: false, error: { type: 'bad-signature' } });
  });

  it('rejects a genuine delivery older than maxAgeMs (a replay), and accepts one just inside it', () => {
    const header = signGhostPayload(body, secret, sentAt);
    expect(verifyGhostSignature({ header, body, secret, now: later(300_001) })).toEqual({ ok: false, error: { type: 'stale', ageMs: 300_001 } });
    expect(verifyGhostSignature({ header, body, secret, now: later(300_000) }).ok).toBe(true);
    expect(verifyGhostSignature({ header, body, secret, now: later(60_001), maxAgeMs: 60_000 }).ok).toBe(false);
  });

  it('rejects a timestamp more than five minutes in the future', () => {
    const header = signGhostPayload(body, secret, sentAt);
    expect(verifyGhostSignature({ header, body, secret, now: later(-300_001) })).toEqual({ ok: false, error: { type: 'stale', ageMs: -300_001 } });
    expect(verifyGhostSignature({ header, body, secret, now: later(-299_000) }).ok).toBe(true);
  });

  it('reports a missing header', () => {
    for (const header of [undefined, null, '', '   ', []]) {
      expect(verifyGhostSignature({ header, body, secret, now: sentAt })).toEqual({ ok: false, error: { type: 'missing' } });
    }
  });

  it('reports malformed headers without throwing', () => {
    const good = signGhostPayload(body, secret, sentAt);
    const hex = good.slice('sha256='.length, 'sha256='.length + 64);
    const malformed = [
      hex, // no "sha256="
      `sha256=${hex}`, // no timestamp
      `t=${sentAt.getTime()}`, // no signature
      `sha256=${hex.slice(2)}, t=${sentAt.getTime()}`, // short signature: timingSafeEqual would throw on it
      `sha256=${hex}00, t=${sentAt.getTime()}`, // long signature
      `sha256=${hex.replace(/^../, 'zz')}, t=${sentAt.getTime()}`, // not hex
      `sha1=${hex.slice(0, 40)}, t=${sentAt.getTime()}`, // another algorithm
      `sha256=${hex}, t=soon`,
      `sha256=${hex}, t=${sentAt.getTime()}, t=${sentAt.getTime()}`,
    ];
    for (const header of malformed) {
      const result = verifyGhostSignature({ header, body, secret, now: sentAt });
      expect(result.ok, header).toBe(false);
      expect(!result.ok && result.error.type, header).toBe('malformed');
    }
    expect(verifyGhostSignature({ header: [good, good], body, secret, now: sentAt })).toMatchObject({ ok: false, error: { type: 'malformed' } });
  });

  it('refuses to run without a secret, since Ghost does not sign then', () => {
    expect(() => verifyGhostSignature({ header: 'x', body, secret: '', now: sentAt })).toThrow(/secret/);
  });
});
