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

describe('notifications in the backend output', () => {
  const notification = (pid: number, channel: string, payload: string) =>
    message('A', [(pid >>> 24) & 0xff, (pid >>> 16) & 0xff, (pid >>> 8) & 0xff, pid & 0xff, ...Buffer.from(channel), 0, ...Buffer.from(payload), 0]);
  // A COMMIT's answer carrying two notifications, one with a payload of multi-byte characters.
  const commitOutput = [...message('C', [...Buffer.from('COMMIT'), 0]), ...notification(0x01020304, 'rose_jobs', 'x'), ...notification(7, 'rose_jobs', 'Grüße 🌹'), ...ready('I')];

  function notificationsIn(chunks: Uint8Array[]): { heard: string[][]; idle: boolean } {
    const heard: string[][] = [];
    const tracker = createMessageTracker((channel, payload) => heard.push([channel, payload]));
    for (const chunk of chunks) tracker.feed(chunk);
    return { heard, idle: tracker.readyAndIdle() };
  }

  it('finds each NotificationResponse, wherever the output is split', () => {
    const bytes = Uint8Array.from(commitOutput);
    const expected = { heard: [['rose_jobs', 'x'], ['rose_jobs', 'Grüße 🌹']], idle: true };
    for (let at = 0; at <= bytes.length; at++) expect(notificationsIn([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(expected);
    for (let at = 1; at < bytes.length; at++) {
      for (let second = at + 1; second < bytes.length; second += 3) expect(notificationsIn([bytes.subarray(0, at), bytes.subarray(at, second), bytes.subarray(second)])).toEqual(expected);
    }
    expect(notificationsIn([...bytes].map((b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it('reads only real message boundaries: a row that contains the bytes of a notification is a row', () => {
    const inside = notification(1, 'rose_jobs', 'not one');
    const row = message('D', [0, 1, 0, 0, 0, inside.length, ...inside]);
    expect(notificationsIn([Uint8Array.from([...row, ...commandComplete, ...ready('I')])])).toEqual({ heard: [], idle: true });
    // An unfinished notification is not reported until its last byte arrives.
    const half = notification(1, 'rose_jobs', 'later');
    expect(notificationsIn([Uint8Array.from(half.slice(0, -1))]).heard).toEqual([]);
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
