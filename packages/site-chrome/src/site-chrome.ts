import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';

/** The co-op's own settings, shown on every part's pages. */
export interface SiteSettings {
  title: string;
  description: string;
  locale: string;
  timezone: string;
  /** The site's icon (a site path or an http(s) URL; PNG or JPEG): the part actors' avatar. */
  icon?: string;
}

export interface NavItem {
  label: string;
  url: string;
}

/** The site's two menus, in order. */
export interface Navigation {
  primary: NavItem[];
  secondary: NavItem[];
}

/** What every page's layout shows around its content: the site's settings and navigation. */
export interface SiteChrome {
  site: SiteSettings;
  navigation: Navigation;
}

/** Settings of a site whose content set none (a fresh database). */
export const defaultSite: SiteSettings = { title: 'Rose Ash', description: 'A co-operative', locale: 'en-GB', timezone: 'UTC' };

/**
 * Site settings and navigation (two small queries): for every part's snapshot and for pages
 * rendered on demand. Written by the blog's seed and Ghost import (`site_settings` row
 * `site`, table `blog_navigation`).
 */
export async function loadSiteChrome(db: Kysely<Database>): Promise<SiteChrome> {
  const siteRow = await db.selectFrom('site_settings').select('value').where('key', '=', 'site').executeTakeFirst();
  const navRows = await db.selectFrom('blog_navigation').select(['menu', 'label', 'url']).orderBy('menu').orderBy('position').execute();
  return {
    site: { ...defaultSite, ...((siteRow?.value as Partial<SiteSettings> | undefined) ?? {}) },
    navigation: {
      primary: navRows.filter((n) => n.menu === 'primary').map(({ label, url }) => ({ label, url })),
      secondary: navRows.filter((n) => n.menu === 'secondary').map(({ label, url }) => ({ label, url })),
    },
  };
}
