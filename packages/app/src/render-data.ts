import type { BlogSnapshot } from '@rose/blog';
import type { Config } from '@rose/config';
import type { MarketSnapshot } from '@rose/market';
import { mediaFolder } from '@rose/media/folder';
import type { RenderData } from '@rose/site-build';
import path from 'node:path';
import { provideSiteData } from './site-data.ts';

/**
 * Makes a build's data visible to the pages of this process (or thread), or clears it. Its
 * own module, importing next to nothing: each render thread of a build loads it.
 */
export function provideRenderData(config: Config, data: RenderData | undefined): void {
  provideSiteData(
    data && {
      config,
      blog: data.snapshots.blog as BlogSnapshot,
      market: data.snapshots.market as MarketSnapshot,
      media: mediaFolder(mediaDir(config)),
      release: data.release,
      ...(data.renderOnly ? { renderOnly: data.renderOnly } : {}),
    },
  );
}

/** Where builds keep the media files pages publish (a cache of the database's, by content hash). */
export function mediaDir(config: Config): string {
  return path.join(config.dataDir, 'media');
}
