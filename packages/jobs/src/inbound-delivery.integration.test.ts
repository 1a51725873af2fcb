import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { recordInboundDelivery } from './inbound-delivery.repository.ts';

describe.each(databaseKinds)('inbound delivery dedupe on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(() => t?.drop());

  const record = (source: string, deliveryId: string) => t.db.transaction().execute((trx) => recordInboundDelivery(trx, { source, deliveryId }));

  it('takes a delivery once and reports every repeat as a duplicate', async () => {
    expect(await record('ghost', 'd-1')).toBe(true);
    expect(await record('ghost', 'd-1')).toBe(false);
    expect(await record('ghost', 'd-1')).toBe(false);
  });

  it('keeps the ids of each source apart', async () => {
    expect(await record('sumup', 'shared-id')).toBe(true);
    expect(await record('activitypub', 'shared-id')).toBe(true);
    expect(await record('sumup', 'shared-id')).toBe(false);
  });

  it('forgets a delivery whose handling rolled back, so the sender\'s retry is handled', async () => {
    await expect(
      t.db.transaction().execute(async (trx) => {
        expect(await recordInboundDelivery(trx, { source: 'sumup', deliveryId: 'chk-42' })).toBe(true);
        throw new Error('marking the order paid failed');
      }),
    ).rejects.toThrow('marking the order paid failed');
    expect(await record('sumup', 'chk-42')).toBe(true);
    expect(await record('sumup', 'chk-42')).toBe(false);
  });

  it('lets exactly one of several simultaneous deliveries of the same id through', async () => {
    const id = 'https://social.example/activities/9f1c';
    const results = await Promise.all(Array.from({ length: 6 }, () => record('activitypub', id)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await t.db.selectFrom('inbound_deliveries').select('delivery_id').where('source', '=', 'activitypub').where('delivery_id', '=', id).execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses a malformed source or id: a caller bug, not a delivery', async () => {
    await expect(record('Ghost Webhooks', 'x')).rejects.toThrow(RangeError);
    await expect(record('ghost', '')).rejects.toThrow(/deliveryId must be 1 to 2048 characters/);
    await expect(record('ghost', 'x'.repeat(2049))).rejects.toThrow(RangeError);
  });
});
