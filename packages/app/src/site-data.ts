import { Worker } from 'node:worker_threads';
import { loadBlogSnapshot, type BlogSnapshot } from '@rose/blog';
import type { Config } from '@rose/config';
import { RoseError } from '@rose/core';
import type { Kysely } from 'kysely';
import { createMigrations, openDatabase, type Database } from '@rose/db';
import path from 'node:path';
import { getServices } from './services.ts';

/** What prerendered pages read: the config and the blog snapshot. */
export interface SiteData {
  config: Config;
  blog: BlogSnapshot;
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
  const services = await getServices();
  return { config: services.config, blog: await services.blog.snapshot() };
}

/** May be given a promise, so pages can wait while the build's data is still being read. */
export function provideSiteData(data: SiteData | Promise<SiteData> | undefined): void {
  (globalThis as Holder)[KEY] = data === undefined ? undefined : Promise.resolve(data);
}

/** Migrations current, then the blog snapshot: the read every build starts with. */
export async function readSnapshotFrom(db: Kysely<Database>, root: string): Promise<BlogSnapshot> {
  await createMigrations(db, path.join(root, 'migrations')).assertCurrent();
  return loadBlogSnapshot(db);
}

/**
 * Reads everything a build needs, refusing first when migrations are pending. With the
 * embedded database this runs in a worker thread, so PGlite's WASM memory is released when
 * the worker ends instead of staying for the whole Astro build. `db` reuses a database this
 * process already has open (the in-process worker of `rose serve`).
 */
export async function readSiteSnapshot(config: Config, opts: { db?: Kysely<Database> } = {}): Promise<BlogSnapshot> {
  if (opts.db) return readSnapshotFrom(opts.db, config.root);
  if (config.database.kind === 'postgres') {
    const handle = await openDatabase(config.database);
    try {
      return await readSnapshotFrom(handle.db, config.root);
    } finally {
      await handle.close();
    }
  }
  const worker = new Worker(new URL('./site-data.worker.ts', import.meta.url), { workerData: { config } });
  return new Promise<BlogSnapshot>((resolve, reject) => {
    let settled = false;
    worker.once('message', (msg: WorkerMessage) => {
      settled = true;
      if (msg.type === 'snapshot') resolve(msg.snapshot);
      else reject(reviveError(msg.error));
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

export type WorkerMessage =
  | { type: 'snapshot'; snapshot: BlogSnapshot }
  | { type: 'error'; error: { name: string; message: string; title?: string | undefined; hint?: string | undefined; code?: string | undefined } };

function reviveError(e: Extract<WorkerMessage, { type: 'error' }>['error']): Error {
  return e.title
    ? new RoseError({ code: e.code ?? 'error', title: e.title, message: e.message, ...(e.hint ? { hint: e.hint } : {}) })
    : Object.assign(new Error(e.message), { name: e.name });
}

