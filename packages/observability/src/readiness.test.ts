import { describe, expect, it } from 'vitest';
import { checkReadiness, publicReadiness, type ReadinessProbes } from './readiness.ts';

const up = async () => {};
const healthy: ReadinessProbes = { database: up, cache: up, migrations: up, served: async () => ({ id: 'r1' }) };

describe('readiness', () => {
  it('is ready when the database and cache answer, migrations are current and a release is served', async () => {
    expect(await checkReadiness(healthy)).toEqual({
      status: 'ready',
      checks: { database: { ok: true, detail: 'answered' }, cache: { ok: true, detail: 'answered' }, migrations: { ok: true, detail: 'current' }, release: { ok: true, detail: 'serving r1' } },
      release: 'r1',
    });
  });

  it('is not ready when any check fails, and says which and why', async () => {
    const pending = await checkReadiness({ ...healthy, migrations: async () => Promise.reject(new Error('The database is missing 1 migration(s): x.')) });
    expect(pending.status).toBe('not-ready');
    expect(pending.checks.migrations).toEqual({ ok: false, detail: 'The database is missing 1 migration(s): x.' });
    expect(pending.checks.database.ok).toBe(true);
    expect(pending.release).toBe('r1');

    const none = await checkReadiness({ ...healthy, served: async () => ({ id: undefined, problem: 'this process serves no release' }) });
    expect(none).toMatchObject({ status: 'not-ready', release: null, checks: { release: { ok: false, detail: 'this process serves no release' } } });

    const cacheDown = await checkReadiness({ ...healthy, cache: async () => Promise.reject(new Error('connect ECONNREFUSED')) });
    expect(cacheDown).toMatchObject({ status: 'not-ready', checks: { cache: { ok: false, detail: 'connect ECONNREFUSED' } } });
  });

  it('fails a check that does not answer in time instead of hanging', async () => {
    const report = await checkReadiness({ ...healthy, database: () => new Promise(() => {}) }, { timeoutMs: 50 });
    expect(report).toMatchObject({ status: 'not-ready', checks: { database: { ok: false, detail: 'no answer within 0.05 s' } } });
  });

  it('tells the public whether each check passed, without the details', async () => {
    const report = await checkReadiness({ ...healthy, database: async () => Promise.reject(new Error('password authentication failed for user "rose"')) });
    expect(publicReadiness(report)).toEqual({
      status: 'not-ready',
      checks: { database: { ok: false }, cache: { ok: true }, migrations: { ok: true }, release: { ok: true } },
      release: 'r1',
    });
  });
});
