import { describe, expect, it } from 'vitest';
import { createMessageTracker } from './pglite-socket-server.ts';
import { createSessionLock } from './session-lock.ts';

const message = (type: string, body: number[]) => {
  const out = [type.charCodeAt(0), 0, 0, 0, 0, ...body];
  const length = body.length + 4;
  out[1] = (length >>> 24) & 0xff;
  out[2] = (length >>> 16) & 0xff;
  out[3] = (length >>> 8) & 0xff;
  out[4] = length & 0xff;
  return out;
};
const ready = (status: 'I' | 'T' | 'E') => message('Z', [status.charCodeAt(0)]);
// A DataRow whose last bytes look like ReadyForQuery('I'): only real message boundaries count.
const trickyRow = message('D', [0, 1, 0, 0, 0, 6, 0x5a, 0, 0, 0, 5, 0x49]);
const commandComplete = message('C', [...Buffer.from('SELECT 1'), 0]);

function track(bytes: number[], chunk: number): boolean {
  const tracker = createMessageTracker();
  for (let i = 0; i < bytes.length; i += chunk) tracker.feed(Uint8Array.from(bytes.slice(i, i + chunk)));
  return tracker.readyAndIdle();
}

describe('backend message tracker', () => {
  it('hands the session on only after ReadyForQuery "idle", however the output is split', () => {
    for (const chunk of [1, 2, 3, 5, 7, 1000]) {
      expect(track([...trickyRow, ...commandComplete, ...ready('I')], chunk)).toBe(true);
      expect(track([...trickyRow, ...commandComplete, ...ready('T')], chunk)).toBe(false); // inside BEGIN … COMMIT
      expect(track([...trickyRow, ...commandComplete, ...ready('E')], chunk)).toBe(false); // failed transaction
      expect(track([...message('1', [])], chunk)).toBe(false); // ParseComplete: Bind/Execute/Sync still to come
      expect(track([...ready('I'), ...trickyRow], chunk)).toBe(false);
    }
  });
});

describe('session lock', () => {
  it('grants in arrival order, and a waiter that gives up leaves the queue', async () => {
    const lock = createSessionLock();
    const order: string[] = [];
    const release = await lock.acquire();
    const gaveUp = new AbortController();
    const a = lock.acquire().then((r) => (order.push('a'), r));
    const quitter = lock.acquire(gaveUp.signal);
    const b = lock.acquire().then((r) => (order.push('b'), r));
    expect(lock.waiting).toBe(3);
    gaveUp.abort(new Error('client left'));
    await expect(quitter).rejects.toThrow('client left');
    expect(lock.waiting).toBe(2);
    release();
    (await a)();
    (await b)();
    expect(order).toEqual(['a', 'b']);
    expect(lock.held).toBe(false);
  });
});
