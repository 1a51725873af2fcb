import { countJobs, createWorker, type Worker } from '@rose/jobs';
import type { ReleasePatch, SiteBuilder } from '@rose/site-build';
import { createBlogJobHandlers, type RebuildRequest } from './blog-jobs.ts';
import type { Services } from './services.ts';
import { readSnapshots, staticSources } from './wire-site.ts';

export interface OutboxWorkerOptions {
  /** The build pipeline of this process (it keeps the live release's renderer warm). */
  siteBuild: SiteBuilder;
  /** A server in this process can serve a rebuild's pages before the release is complete. */
  onPatch?: (patch: ReleasePatch) => void;
  pollMs?: number;
}

/**
 * The outbox worker over open services: every part's job handlers, rebuilds through the
 * process's build pipeline against the already open database.
 */
export function startOutboxWorker(services: Services, opts: OutboxWorkerOptions): Worker {
  const db = services.database.db;
  const sources = staticSources(services.config);
  // On top of the snapshots the live release was built from (when this process built it),
  // read only what changed: a one-post edit costs a few small queries at any size.
  const snapshotsFor = async (request: RebuildRequest) => {
    const base = request.shared ? undefined : await opts.siteBuild.snapshotsOfLive();
    const source = sources.find((s) => s.part === request.part);
    if (!base || !source?.refresh) return readSnapshots(services.config, { db });
    return { ...base, [request.part]: await source.refresh(db, base[request.part], request.slugs) };
  };
  const rebuild = async (request: RebuildRequest) => {
    services.logger.info({ part: request.part, slugs: request.slugs.length, shared: request.shared }, 'rebuilding');
    const readStarted = performance.now();
    const snapshots = await snapshotsFor(request);
    const readMs = Math.round(performance.now() - readStarted);
    const result = await opts.siteBuild.build({ snapshots, parts: [request.part], targeted: true, liveCode: true, ...(opts.onPatch ? { onPatch: opts.onPatch } : {}) });
    services.logger.info({ release: result.release, kind: result.kind, rendered: result.rendered, changed: result.changed, pages: result.pages, ms: Math.round(result.seconds * 1000), timings: { read: readMs, ...result.timings } }, 'rebuild live');
  };
  const worker = createWorker({
    db: services.database.db,
    handlers: { ...createBlogJobHandlers(services, rebuild), ...services.auth.jobHandlers },
    logger: services.logger,
    clock: services.clock,
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
  });
  services.jobs.setWaker(() => worker.poke());
  return worker;
}

export { countJobs };
