import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMemoryCache } from '@rose/cache';
import { createFixedClock } from '@rose/core';
import { createFragments } from './fragments.ts';
import { createLogger } from './logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('fragments', () => {
  it('caches a rendered fragment per component and variant', async () => {
    const { logger } = capture();
    const fragments = createFragments({ cache: createMemoryCache(), logger, ttlSeconds: 60 });
    let calls = 0;
    const render = () => fragments.render('menu', 'anon', async () => `<p>${++calls}</p>`, 'fallback');
    expect(await render()).toBe('<p>1</p>');
    expect(await render()).toBe('<p>1</p>');
    expect(await fragments.purge('menu')).toBe(1);
    expect(await render()).toBe('<p>2</p>');
  });

  it('tells whether each cached lookup was a hit (for the island cache hit ratio); private fragments are not lookups', async () => {
    const { logger } = capture();
    const lookups: [string, boolean][] = [];
    const fragments = createFragments({ cache: createMemoryCache(), logger, ttlSeconds: 60, onLookup: (component, hit) => lookups.push([component, hit]) });
    await fragments.render('menu', 'anon', async () => 'm', 'fallback');
    await fragments.render('menu', 'anon', async () => 'm', 'fallback');
    await fragments.render('stock', 'bread', async () => Promise.reject(new Error('down')), 'fallback');
    await fragments.renderPrivate('members-content', 'agm', async () => 'p', 'fallback');
    expect(lookups).toEqual([
      ['menu', false],
      ['menu', true],
      ['stock', false],
    ]);
  });

  it('a failing island shows its fallback, is logged by name once, and is not retried until the back-off ends', async () => {
    const clock = createFixedClock(new Date('2026-01-01T00:00:00Z'));
    const { lines, logger } = capture();
    const fragments = createFragments({ cache: createMemoryCache({ clock }), logger, ttlSeconds: 60, failureTtlSeconds: 30, clock });
    let attempts = 0;
    const broken = async () => {
      attempts++;
      throw new Error('upstream exploded');
    };
    for (let i = 0; i < 100; i++) expect(await fragments.render('cart-badge', 'anon', broken, '<span>cart</span>')).toBe('<span>cart</span>');
    expect(attempts).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ component: 'cart-badge', err: { message: 'upstream exploded' } });

    clock.advance(31_000);
    expect(await fragments.render('cart-badge', 'anon', async () => '<span>3 items</span>', 'fallback')).toBe('<span>3 items</span>');
  });

  it('never stores a private fragment, so one visitor never sees another\'s, yet backs off when it fails', async () => {
    const clock = createFixedClock(new Date('2026-01-01T00:00:00Z'));
    const { lines, logger } = capture();
    const cache = createMemoryCache({ clock });
    const fragments = createFragments({ cache, logger, ttlSeconds: 60, failureTtlSeconds: 30, clock });
    expect(await fragments.renderPrivate('members-content', 'agm-minutes', async () => '<p>for Ann</p>', 'fallback')).toBe('<p>for Ann</p>');
    expect(await fragments.renderPrivate('members-content', 'agm-minutes', async () => '<p>sign in</p>', 'fallback')).toBe('<p>sign in</p>');
    expect(await cache.deleteByPrefix('fragment:')).toBe(0);

    let attempts = 0;
    const broken = async () => {
      attempts++;
      throw new Error('database down');
    };
    for (let i = 0; i < 10; i++) expect(await fragments.renderPrivate('members-content', 'agm-minutes', broken, 'fallback')).toBe('fallback');
    expect(attempts).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ component: 'members-content', err: { message: 'database down' } });
  });

  it('renders without the cache when the cache is down', async () => {
    const { lines, logger } = capture();
    const cache = createMemoryCache();
    await cache.close();
    const fragments = createFragments({ cache, logger, ttlSeconds: 60 });
    expect(await fragments.render('menu', 'anon', async () => 'fresh', 'fallback')).toBe('fresh');
    expect(await fragments.render('menu', 'anon', async () => 'fresh', 'fallback')).toBe('fresh');
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1); // one warning, not one per request
  });
});
