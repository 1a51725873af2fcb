import type { ColumnType } from 'kysely';

// Column types every part's tables use.

/** timestamptz: read as Date, written as Date or ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

/** Where a row came from: the `content/` folder or a Ghost site. */
export type ContentSource = 'content' | 'ghost';
