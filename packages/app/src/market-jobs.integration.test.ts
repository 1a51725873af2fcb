import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import type { Job } from '@rose/db';
import { createTestDatabase, type TestDatabase } from '@rose/testing';
import { createLogger } from './logger.ts';
import { createMarketManager } from '@rose/market';
import { createMarketScrapeHandlers, enqueueMarketScrape, marketRebuildJob, marketScrapeJob, scheduleCycleBoundaryRebuild } from './market-jobs.ts';
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

  it('queues one market rebuild for the next time a cycle opens or closes', async () => {
    const manage = createMarketManager({ db: t.db, clock });
    expect((await manage.addProducer('cli:test', { slug: 'hill-farm', name: 'Hill Farm' })).ok).toBe(true);
    const added = await manage.addCycle('cli:test', { slug: 'spring', name: 'Spring', opensAt: '2027-04-01T08:00', closesAt: '2027-06-30T20:00', timeZone: 'Europe/London' }, { producers: ['hill-farm'] });
    expect(added.ok).toBe(true);
    await t.db.deleteFrom('jobs').execute();
    const rebuilds = () => t.db.selectFrom('jobs').select('run_at').where('type', '=', marketRebuildJob.type).where('status', '=', 'pending').orderBy('run_at').execute();
    // Opens 08:00 BST = 07:00Z; twice asked, once queued.
    expect(await scheduleCycleBoundaryRebuild(t.db, new Date('2027-03-01T00:00:00Z'))).toEqual(new Date('2027-04-01T07:00:01Z'));
    await scheduleCycleBoundaryRebuild(t.db, new Date('2027-03-01T00:00:00Z'));
    expect((await rebuilds()).map((r) => r.run_at.toISOString())).toEqual(['2027-04-01T07:00:01.000Z']);
    // Once open, the next boundary is its closing.
    expect(await scheduleCycleBoundaryRebuild(t.db, new Date('2027-04-01T07:00:01Z'))).toEqual(new Date('2027-06-30T19:00:01Z'));
    expect(await scheduleCycleBoundaryRebuild(t.db, new Date('2027-07-01T00:00:00Z'))).toBeUndefined();
  });
});
