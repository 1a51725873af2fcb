import { describe, expect, it } from 'vitest';
import { createHostLimiter } from './host-limiter.ts';

/** A clock that moves only when the limiter sleeps: waits are recorded and take no time. */
function fakeTime() {
  let t = 0;
  const waits: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
  };
}

/** A task that stays in flight until the test lets it finish. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { release, task: () => done };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('host limiter', () => {
  it('spaces the starts of requests to one host by the interval', async () => {
    const time = fakeTime();
    const limiter = createHostLimiter({ rateLimitMs: 1000, perHostConcurrency: 1, ...time });
    const starts: [string, number][] = [];
    const task = (host: string) => limiter.run(host, async () => void starts.push([host, time.now()]));
    await Promise.all([task('a.example'), task('a.example'), task('a.example')]);
    expect(starts).toEqual([
      ['a.example', 0],
      ['a.example', 1000],
      ['a.example', 2000],
    ]);
    expect(time.waits).toEqual([1000, 1000]);
  });

  it('lets other hosts go without waiting for one host\'s interval', async () => {
    const time = fakeTime();
    const limiter = createHostLimiter({ rateLimitMs: 1000, ...time });
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((h) => limiter.run(`${h}.example`, async () => void order.push(h))));
    expect(order).toEqual(['a', 'b', 'c']);
    expect(time.waits).toEqual([]);
  });

  it('raises a host\'s interval to its Crawl-delay, never lowers it', async () => {
    const time = fakeTime();
    const limiter = createHostLimiter({ rateLimitMs: 1000, ...time });
    limiter.setCrawlDelay('slow.example', 5000);
    limiter.setCrawlDelay('fast.example', 200);
    expect([limiter.intervalFor('slow.example'), limiter.intervalFor('fast.example'), limiter.intervalFor('other.example')]).toEqual([5000, 1000, 1000]);
    await limiter.run('slow.example', async () => {});
    await limiter.run('slow.example', async () => {});
    expect(time.waits).toEqual([5000]);
  });

  it('with rateLimitMs 0, does not wait at all', async () => {
    const time = fakeTime();
    const limiter = createHostLimiter({ rateLimitMs: 0, ...time });
    await Promise.all(Array.from({ length: 5 }, () => limiter.run('a.example', async () => {})));
    expect(time.waits).toEqual([]);
  });

  /** Runs tasks for `hosts` that stay in flight until released one by one; the most in flight at once. */
  async function peak(limiter: ReturnType<typeof createHostLimiter>, hosts: string[]) {
    let total = 0;
    let most = 0;
    const tasks = hosts.map((h) => {
      const gate = held();
      const run = limiter.run(h, async () => {
        most = Math.max(most, ++total);
        await gate.task();
        total--;
      });
      return { gate, run };
    });
    for (const { gate } of tasks) {
      await settle();
      gate.release();
    }
    await Promise.all(tasks.map((t) => t.run));
    return most;
  }

  it('keeps at most perHostConcurrency requests in flight to one host', async () => {
    expect(await peak(createHostLimiter({ rateLimitMs: 0, perHostConcurrency: 2, globalConcurrency: 10 }), ['a', 'a', 'a', 'a', 'a'])).toBe(2);
    expect(await peak(createHostLimiter({ rateLimitMs: 0, perHostConcurrency: 1, globalConcurrency: 10 }), ['a', 'a', 'a'])).toBe(1);
  });

  it('keeps at most globalConcurrency requests in flight overall', async () => {
    expect(await peak(createHostLimiter({ rateLimitMs: 0, perHostConcurrency: 2, globalConcurrency: 3 }), ['a', 'b', 'c', 'd', 'e', 'f'])).toBe(3);
  });

  it('frees the slots of a task that fails', async () => {
    const limiter = createHostLimiter({ rateLimitMs: 0, perHostConcurrency: 1, globalConcurrency: 1 });
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run('a', async () => 'next')).toBe('next');
  });
});
