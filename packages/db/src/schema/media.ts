import type { ColumnType } from 'kysely';
import type { CreatedAt, UpdatedAt, ContentSource } from './columns.ts';

/** Whose images: the blog's content folder or Ghost, the market's content folder, or supplier scraping. */
export type MediaSource = ContentSource | 'market' | 'scrape';

/** An image the site publishes: its original's size and the variants made from it (ADR 0010). */
export interface MediaImagesTable {
  /** What content refers to, e.g. `/images/market.jpg` for content/images/market.jpg. */
  ref: string;
  source: MediaSource;
  /** SHA-256 of the original's bytes and the variant recipe. */
  source_hash: string;
  width: number;
  height: number;
  variants: ColumnType<MediaVariant[], string, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MediaVariant {
  /** A file of `media_files`, named by its content hash. */
  name: string;
  type: 'image/avif' | 'image/webp' | 'image/jpeg' | 'image/png';
  width: number;
  height: number;
  bytes: number;
}

/** Bytes of published media files; a name always means the same bytes. */
export interface MediaFilesTable {
  name: string;
  content_type: string;
  bytes: Uint8Array;
  created_at: CreatedAt;
}

/** Images and their published files (`@rose/media`). */
export interface MediaTables {
  media_images: MediaImagesTable;
  media_files: MediaFilesTable;
}
