import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import type { Job } from '@rose/db';
import { createTestDatabase, type TestDatabase } from '@rose/testing';
import { createLogger } from './logger.ts';
import { createMarketScrapeHandlers, enqueueMarketScrape, marketScrapeJob } from './market-jobs.ts';
import type { MarketServices } from './wire-market.ts';

// Scheduled scrapes: one schedule per set of suppliers, and a run that repeats queues the next
// one `everyHours` later — also when the run itself failed.
describe('market.scrape jobs', () => {
  let t: TestDatabase;
  const clock = createFixedClock(new Date('2026-11-29T12:00:00Z'));
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(() => t?.drop());

  const pending = () => t.db.selectFrom('jobs').select(['payload', 'run_at']).where('type', '=', marketScrapeJob.type).where('status', '=', 'pending').orderBy('id').execute();

  it('replaces a pending schedule of the same suppliers and keeps others', async () => {
    await t.db.transaction().execute((trx) => enqueueMarketScrape(trx, { suppliers: ['hill-farm'], everyHours: 24 }));
    await t.db.transaction().execute((trx) => enqueueMarketScrape(trx, { suppliers: ['valley-bakery'] }));
    const replaced = await t.db.transaction().execute((trx) => enqueueMarketScrape(trx, { suppliers: ['hill-farm'], everyHours: 6 }));
    expect(replaced).toBe(1);
    expect((await pending()).map((j) => j.payload)).toEqual([{ suppliers: ['valley-bakery'] }, { suppliers: ['hill-farm'], everyHours: 6 }]);
  });

  it('runs the suppliers, logs the outcome and queues the next run, even after a failure', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) }));
    const asked: string[][] = [];
    let fail = false;
    const market: Pick<MarketServices, 'scrape'> = {
      scrape: async (suppliers) => {
        asked.push([...suppliers]);
        if (fail) throw new Error('suppliers.json is not valid JSON');
        return [{ supplier: 'hill-farm', ok: true as const, seconds: 1, report: { supplier: 'hill-farm', pages: 7, notModified: 0, new: [], priceChanged: [], backInStock: [], outOfStock: [], gone: [], unchecked: [], unchanged: 7, errors: [], changedProducts: [] } }];
      },
    };
    const handlers = createMarketScrapeHandlers(t.db, { market, logger, clock });
    const job = { id: '1', type: marketScrapeJob.type, payload: { suppliers: ['hill-farm'], everyHours: 6 } } as unknown as Job;
    await t.db.deleteFrom('jobs').execute();
    await handlers[marketScrapeJob.type]!([job]);
    fail = true;
    clock.advance(6 * 3_600_000);
    await handlers[marketScrapeJob.type]!([job]);
    expect(asked).toEqual([['hill-farm'], ['hill-farm']]);
    expect(lines.some((l) => l.includes('"msg":"scrape done"') && l.includes('"pages":7'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"scheduled scrape could not run"') && l.includes('not valid JSON'))).toBe(true);
    // Each run replaced the schedule it came from: one pending run, 6 hours after the last.
    const next = await pending();
    expect(next.map((j) => [j.payload, j.run_at.toISOString()])).toEqual([[{ suppliers: ['hill-farm'], everyHours: 6 }, '2026-11-30T00:00:00.000Z']]);
  });
});
