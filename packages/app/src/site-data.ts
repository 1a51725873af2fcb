import { Worker } from 'node:worker_threads';
import { loadBlogSnapshot, type BlogSnapshot } from '@rose/blog';
import type { Config } from '@rose/config';
import { RoseError } from '@rose/core';
import { createMigrations, openDatabase } from '@rose/db';
import path from 'node:path';
import { getServices } from './services.ts';

/** What prerendered pages read: the config and the blog snapshot. */
export interface SiteData {
  config: Config;
  blog: BlogSnapshot;
}

const KEY = Symbol.for('rose.site-data');
type Holder = { [KEY]?: SiteData | undefined };

/**
 * Data for static pages. During `rose build` the CLI provides it up front (read once, before
 * Astro starts); in `rose dev` it is read fresh from the services on each call.
 */
export async function getSiteData(): Promise<SiteData> {
  const provided = (globalThis as Holder)[KEY];
  if (provided) return provided;
  const services = await getServices();
  return { config: services.config, blog: await services.blog.snapshot() };
}

export function provideSiteData(data: SiteData | undefined): void {
  (globalThis as Holder)[KEY] = data;
}

/**
 * Reads everything a build needs, checking first that migrations are current. With the
 * embedded database this runs in a worker thread: PGlite's WASM memory (hundreds of MiB)
 * is released when the worker ends instead of staying for the whole Astro build.
 */
export async function readSiteSnapshot(config: Config): Promise<BlogSnapshot> {
  if (config.database.kind === 'postgres') return readDirect(config);
  const worker = new Worker(new URL('./site-data.worker.ts', import.meta.url), { workerData: { config } });
  return new Promise<BlogSnapshot>((resolve, reject) => {
    let settled = false;
    worker.once('message', (msg: { ok: true; snapshot: BlogSnapshot } | { ok: false; error: { name: string; message: string; title?: string; hint?: string; code?: string } }) => {
      settled = true;
      if (msg.ok) resolve(msg.snapshot);
      else {
        const e = msg.error;
        reject(e.title ? new RoseError({ code: e.code ?? 'error', title: e.title, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }) : Object.assign(new Error(e.message), { name: e.name }));
      }
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`The snapshot worker exited with code ${code} before answering`));
    });
  });
}

/** The worker's body (and the Postgres path): open, check migrations, read, close. */
export async function readDirect(config: Config): Promise<BlogSnapshot> {
  const handle = await openDatabase(config.database);
  try {
    await createMigrations(handle.db, path.join(config.root, 'migrations')).assertCurrent();
    return await loadBlogSnapshot(handle.db);
  } finally {
    await handle.close();
  }
}
