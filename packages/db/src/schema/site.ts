import type { ColumnType } from 'kysely';
import type { UpdatedAt } from './columns.ts';

export interface SiteSettingsTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: UpdatedAt;
}

/** Site-wide settings by key (the site's title and description, the Ghost sync mark). */
export interface SiteTables {
  site_settings: SiteSettingsTable;
}
