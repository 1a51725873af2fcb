import type { BlogSnapshot } from '@rose/blog';
import type { Config } from '@rose/config';
import type { MarketSnapshot } from '@rose/market';
import { getServices } from './services-holder.ts';

/** What prerendered pages read: the config and each part's snapshot. */
export interface SiteData {
  config: Config;
  blog: BlogSnapshot;
  market: MarketSnapshot;
  /** Bytes of the media files the snapshots list (`mediaFiles`), by name. */
  media: { read(name: string): Promise<Uint8Array> };
  /** The release being built, when there is one (not in dev). */
  release?: string;
  /** A targeted rebuild renders only these paths of the pages with dynamic routes. */
  renderOnly?: ReadonlySet<string>;
}

const KEY = Symbol.for('rose.site-data');
type Holder = { [KEY]?: Promise<SiteData> | undefined };

/**
 * Data for static pages. During `rose build` the CLI provides it up front (read once, before
 * Astro starts); in `rose dev` it is read fresh from the services on each call.
 */
export async function getSiteData(): Promise<SiteData> {
  const provided = (globalThis as Holder)[KEY];
  if (provided) return provided;
  // Only here (`rose dev`) are the services created, and their module graph loaded: a render
  // thread that is given its data never loads it (~170 MiB per thread).
  const services = await getServices();
  const media = {
    async read(name: string) {
      const bytes = (await services.blog.mediaFiles([name])).get(name);
      if (!bytes) throw new Error(`No media file ${name} in the database`);
      return bytes;
    },
  };
  return { config: services.config, blog: await services.blog.snapshot(), market: await services.market.snapshot(), media };
}

/** May be given a promise, so pages can wait while the build's data is still being read. */
export function provideSiteData(data: SiteData | Promise<SiteData> | undefined): void {
  (globalThis as Holder)[KEY] = data === undefined ? undefined : Promise.resolve(data);
}

