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

export interface SnapshotRead {
  /** Resolves once the database answered and its migrations are current. */
  checked: Promise<void>;
  snapshot: Promise<BlogSnapshot>;
}

/**
 * Reads everything a build needs, checking first that migrations are current. `checked`
 * settles early, so a caller can refuse before doing anything else and then overlap the
 * rest of the read with other work. With the embedded database this runs in a worker
 * thread: PGlite's WASM memory is released when the worker ends instead of staying for
 * the whole Astro build.
 */
export function readSiteSnapshot(config: Config, opts: { db?: Kysely<Database> } = {}): SnapshotRead {
  if (opts.db) {
    // A process that already has the database open (the in-process worker of `rose serve`).
    const db = opts.db;
    const checked = createMigrations(db, path.join(config.root, 'migrations')).assertCurrent();
    const snapshot = checked.then(() => loadBlogSnapshot(db));
    snapshot.catch(() => {});
    return { checked, snapshot };
  }
  if (config.database.kind === 'postgres') {
    const handle = openDatabase(config.database);
    const checked = handle.then(async (h) => {
      try {
        await createMigrations(h.db, path.join(config.root, 'migrations')).assertCurrent();
      } catch (error) {
        await h.close();
        throw error;
      }
    });
    const snapshot = checked.then(async () => {
      const h = await handle;
      try {
        return await loadBlogSnapshot(h.db);
      } finally {
        await h.close();
      }
    });
    snapshot.catch(() => {}); // reported through `checked` or by the awaiting caller
    return { checked, snapshot };
  }
  const worker = new Worker(new URL('./site-data.worker.ts', import.meta.url), { workerData: { config } });
  let resolveChecked!: () => void;
  let rejectChecked!: (error: unknown) => void;
  const checked = new Promise<void>((resolve, reject) => {
    resolveChecked = resolve;
    rejectChecked = reject;
  });
  const snapshot = new Promise<BlogSnapshot>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      settled = true;
      rejectChecked(error);
      reject(error);
    };
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'checked') resolveChecked();
      else if (msg.type === 'snapshot') {
        settled = true;
        resolve(msg.snapshot);
      } else fail(reviveError(msg.error));
    });
    worker.once('error', fail);
    worker.once('exit', (code) => {
      if (!settled) fail(new Error(`The snapshot worker exited with code ${code} before answering`));
    });
  });
  snapshot.catch(() => {});
  return { checked, snapshot };
}

export type WorkerMessage =
  | { type: 'checked' }
  | { type: 'snapshot'; snapshot: BlogSnapshot }
  | { type: 'error'; error: { name: string; message: string; title?: string | undefined; hint?: string | undefined; code?: string | undefined } };

function reviveError(e: Extract<WorkerMessage, { type: 'error' }>['error']): Error {
  return e.title
    ? new RoseError({ code: e.code ?? 'error', title: e.title, message: e.message, ...(e.hint ? { hint: e.hint } : {}) })
    : Object.assign(new Error(e.message), { name: e.name });
}

