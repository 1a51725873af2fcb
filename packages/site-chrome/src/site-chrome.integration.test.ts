import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@rose/testing';
import { loadSiteChrome } from './site-chrome.ts';

describe('loadSiteChrome', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  });
  afterAll(() => t?.drop());

  it('gives defaults and empty menus on a fresh database', async () => {
    expect(await loadSiteChrome(t.db)).toEqual({
      site: { title: 'Rose Ash', description: 'A co-operative', locale: 'en-GB', timezone: 'UTC' },
      navigation: { primary: [], secondary: [] },
    });
  });

  it('reads the settings (over the defaults) and both menus in order', async () => {
    await t.db.insertInto('site_settings').values({ key: 'site', value: JSON.stringify({ title: 'Chapel Yard Co-op', timezone: 'Europe/London' }) as never }).execute();
    await t.db
      .insertInto('blog_navigation')
      .values([
        { menu: 'secondary', position: 0, label: 'RSS', url: 'https://coop.example/rss.xml' },
        { menu: 'primary', position: 1, label: 'Market', url: '/m/' },
        { menu: 'primary', position: 0, label: 'Home', url: '/' },
      ])
      .execute();
    expect(await loadSiteChrome(t.db)).toEqual({
      site: { title: 'Chapel Yard Co-op', description: 'A co-operative', locale: 'en-GB', timezone: 'Europe/London' },
      navigation: { primary: [{ label: 'Home', url: '/' }, { label: 'Market', url: '/m/' }], secondary: [{ label: 'RSS', url: 'https://coop.example/rss.xml' }] },
    });
  });
});
