import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { RoseError } from '@rose/core';
import type { Database } from '@rose/db';
import { whenNoDeploy } from '@rose/deploy/lock';
import { createWorker, handle, listenForEmbeddedJobs, listenForJobs, type BatchHandler, type Worker } from '@rose/jobs';
import { runWithLogContext, type LogContext } from '@rose/observability';
import type { Logger } from './logger.ts';
import type { BuildResult, ReleasePatch, SiteBuilder } from '@rose/site-build';
import { blogRebuildJob, createBlogJobHandlers, type RebuildRequest } from './blog-jobs.ts';
import { buildWorkerName, claimBuildRequests, markBuildRequests, siteRebuildJob } from './build-requests.ts';
import { createMarketJobHandlers, createMarketScrapeHandlers, marketRebuildJob, marketScrapeJob, scheduleCycleBoundaryRebuild } from './market-jobs.ts';
import { marketStockFragment } from './fragment-names.ts';
import type { Services } from './services.ts';
import { readSnapshots, staticSources } from './wire-site.ts';

export interface OutboxWorkerOptions {
  /** The build pipeline of this process (it keeps the live release's renderer warm); without one, rebuild jobs are left to a worker that has one. */
  siteBuild?: SiteBuilder;
  /** A server in this process can serve a rebuild's pages before the release is complete. */
  onPatch?: (patch: ReleasePatch) => void;
  /** The build failed after `onPatch`: the server goes back to the live release. */
  onPatchFailed?: (patch: ReleasePatch) => Promise<void> | void;
  /** A rebuild made its release current: a server in this process switches to it now (before the rebuild counts as done). */
  onBuilt?: () => Promise<void>;
  pollMs?: number;
  /**
   * Load the live release's renderer and read the data as soon as the worker starts, so the
   * first rebuild is as quick as the rest (a long-running server or worker; not `--once`).
   */
  warmUp?: boolean;
}

/**
 * The outbox worker over open services: every part's job handlers, rebuilds through the
 * process's build pipeline against the already open database.
 */
export function startOutboxWorker({ db, services }: { db: Kysely<Database>; services: Services }, opts: OutboxWorkerOptions): Worker {
  const siteBuild = opts.siteBuild;
  const sources = staticSources(services.config);
  // On top of the snapshots this process last built from (or read when it started), read only
  // what changed since — found by the sources themselves (row versions), whatever made the
  // change, with what the job knew (a webhook's slugs) added: a one-post edit costs a few
  // small queries at any size.
  const snapshotsFor = async (parts: readonly string[], hints: Readonly<Record<string, RebuildHint>>) => {
    const base = siteBuild?.baseSnapshots();
    if (!base) return readSnapshots(services.config, { db });
    const next: Record<string, unknown> = { ...base };
    for (const part of parts) {
      const source = sources.find((s) => s.part === part);
      if (!source) continue;
      const hint = hints[part];
      const found = hint?.shared || !source.refresh || !source.changes ? { items: [], all: true } : await source.changes(db, base[part]);
      next[part] = found.all ? await source.read(db) : await source.refresh!(db, base[part], [...new Set([...found.items, ...(hint?.slugs ?? [])])], found.versions);
    }
    return next;
  };
  // Deploys need Postgres; with the embedded database (one machine, one session) there is
  // none to wait for, and holding its one session for the rebuild would block the rebuild's own reads.
  const afterAnyDeploy = <T>(body: () => Promise<T>): Promise<T> => (services.config.database.kind === 'postgres' ? whenNoDeploy(db, body) : body());
  const rebuild = async (parts: readonly string[], hints: Readonly<Record<string, RebuildHint>>, onLive?: (patch: ReleasePatch, liveMs: number) => Promise<void>): Promise<BuildResult> => {
    services.logger.info({ parts, slugs: Object.values(hints).reduce((n, h) => n + h.slugs.length, 0), shared: Object.values(hints).some((h) => h.shared) }, 'rebuilding');
    const readStarted = performance.now();
    // CPU this process spent until the pages were served (the load-independent figure on a
    // busy machine), and wall time.
    const cpuStarted = process.cpuUsage();
    let liveCpuMs: number | undefined;
    let liveMs: number | undefined;
    // Only a server in this process serves the new pages before the release is complete (a
    // `rose worker` has none: its rebuilds are live when `current` switches).
    const servePatch = opts.onPatch;
    let served: ReleasePatch | undefined;
    const onPatch = servePatch
      ? async (patch: ReleasePatch) => {
          await servePatch(patch);
          served = patch;
          const cpu = process.cpuUsage(cpuStarted);
          liveCpuMs = Math.round((cpu.user + cpu.system) / 1000);
          liveMs = Math.round(performance.now() - readStarted);
          await onLive?.(patch, liveMs);
        }
      : undefined;
    if (!siteBuild) throw new Error('rebuilds run in `rose serve` or `rose worker`, not here');
    let readMs = 0;
    // A deploy of this site (`rose deploy`, from another machine) goes first, and the data is
    // read after it: the rebuild starts from what the deploy seeded and made live.
    const result = await afterAnyDeploy(async () => {
      const snapshots = await snapshotsFor(parts, hints);
      readMs = Math.round(performance.now() - readStarted);
      return siteBuild.build({ snapshots, parts: [...parts], targeted: true, liveCode: true, ...(onPatch ? { onPatch } : {}) });
    }).catch(async (error: unknown) => {
      if (served) await opts.onPatchFailed?.(served);
      throw error;
    });
    if (result.kind !== 'unchanged') await opts.onBuilt?.();
    services.logger.info(
      { release: result.release, kind: result.kind, rendered: result.rendered, changed: result.changed, pages: result.pages, ms: Math.round(result.seconds * 1000), liveMs, liveCpuMs, timings: { read: readMs, ...result.timings } },
      'rebuild live',
    );
    return result;
  };
  const rebuildPart = async (request: RebuildRequest) => void (await rebuild([request.part], { [request.part]: { slugs: request.slugs, shared: request.shared } }));
  const workerName = `${hostname()}:${process.pid}`;
  // `rose build --targeted` from another process: this one has the renderer and the data warm.
  const siteRebuildHandlers = handle(siteRebuildJob, async (payloads) => {
    const requests = await claimBuildRequests(db, payloads.map((p) => p.request), workerName);
    if (requests.length === 0) return;
    const ids = requests.map((r) => r.id);
    const all = sources.map((s) => s.part);
    const parts = requests.some((r) => r.parts.length === 0) ? all : all.filter((part) => requests.some((r) => r.parts.includes(part)));
    const started = performance.now();
    let servedAfterMs: number | undefined;
    try {
      const result = await rebuild(parts, {}, (patch, liveMs) => {
        servedAfterMs = liveMs;
        return markBuildRequests(db, ids, { state: 'live', releaseId: patch.id, summary: { kind: 'warm', parts: [...parts], rendered: 0, changed: patch.written.length, removed: patch.removed.length, pages: 0, liveMs } });
      });
      const summary = { kind: result.kind, parts: result.parts, rendered: result.rendered, changed: result.changed, removed: result.removed, pages: result.pages, ms: Math.round(performance.now() - started), ...(servedAfterMs !== undefined ? { liveMs: servedAfterMs } : {}) };
      await markBuildRequests(db, ids, { state: 'done', releaseId: result.release, summary });
    } catch (error) {
      // The command that asked reports it; the job is not retried behind its back.
      services.logger.error({ err: error, requests: ids }, 'a requested rebuild failed');
      await markBuildRequests(db, ids, { state: 'failed', error: describeFailure(error) });
    }
  });
  const database = services.config.database;
  const worker = createWorker({
    db,
    // Without a build pipeline (rose dev) rebuild jobs stay queued for a worker that has one.
    handlers: traced(
      services.logger,
      siteBuild
        ? { ...siteRebuildHandlers, ...createBlogJobHandlers(services, rebuildPart), ...createMarketJobHandlers(() => services.fragments.purge(marketStockFragment), rebuildPart, () => scheduleCycleBoundaryRebuild(db, services.clock.now())), ...createMarketScrapeHandlers(db, services), ...services.auth.jobHandlers, ...services.federation.jobHandlers() }
        : { ...createMarketScrapeHandlers(db, services), ...services.auth.jobHandlers, ...services.federation.jobHandlers() },
    ),
    logger: services.logger,
    clock: services.clock,
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
    // A scrape crawls politely (one request per interval per host): hours, not the default half hour.
    deadlines: { [marketScrapeJob.type]: 4 * 3_600_000 },
    // Rebuilds in a lane of their own: an edit goes live while a federation sync of every post,
    // a scrape (hours) or a batch of mail runs (one loop made it wait 6 s behind a sync).
    ...(siteBuild ? { lanes: [[siteRebuildJob.type, blogRebuildJob.type, marketRebuildJob.type]] } : {}),
    // Jobs queued by another process (`rose serve --no-worker`, a `rose` command) wake this
    // worker at once: on Postgres through a LISTEN connection of its own; on PGlite while this
    // process owns the database (its socket hears its clients' NOTIFYs). Polling stays as the
    // fallback (ADR 0012).
    ...(database.kind === 'postgres'
      ? { wakeUps: (poke: () => void) => listenForJobs({ url: database.url, onJobs: poke, logger: services.logger, ...(siteBuild ? { applicationName: buildWorkerName } : {}) }) }
      : services.database.listen
        ? { wakeUps: (poke: () => void) => listenForEmbeddedJobs({ listen: services.database.listen!, onJobs: poke }) }
        : {}),
  });
  services.jobs.setWaker(() => worker.poke());
  // The first rebuild after start finds the renderer loaded and the data read (it would
  // otherwise pay for both: seconds at 10,000 posts). A rebuild that comes first reads for itself.
  if (siteBuild && opts.warmUp)
    void (async () => {
      if (!siteBuild.baseSnapshots()) await siteBuild.warmUp(await readSnapshots(services.config, { db }));
    })().catch((error: unknown) => services.logger.warn({ err: error }, 'could not warm the build pipeline up; the first rebuild reads everything itself'));
  // Pages that say when a cycle opens or closes are rebuilt when it does.
  if (siteBuild) void scheduleCycleBoundaryRebuild(db, services.clock.now()).catch((error: unknown) => services.logger.warn({ err: error }, 'could not schedule the rebuild at the next cycle boundary'));
  return worker;
}

/** What a job knew changed in a part: its items (slugs), or something every page shows. */
interface RebuildHint {
  slugs: readonly string[];
  shared: boolean;
}

/** A failed build as the command that asked for it prints it: the message and, for our own errors, the hint. */
function describeFailure(error: unknown): string {
  if (error instanceof RoseError) return [error.message, error.hint].filter(Boolean).join('\n');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Handlers that log as the request that queued their jobs: each job's outcome as one line
 * from a child logger with `{reqId, jobId, jobType}`, and everything the handler logs with
 * the log context of the batch (the job and its request for a batch of one; the request
 * when every job of the batch came from the same one), which jobs it queues carry on.
 */
function traced(logger: Logger, handlers: Record<string, BatchHandler>): Record<string, BatchHandler> {
  const out: Record<string, BatchHandler> = {};
  for (const [jobType, handler] of Object.entries(handlers)) {
    out[jobType] = async (...args: Parameters<BatchHandler>) => {
      const jobs = args[0];
      const started = performance.now();
      const reqIds = new Set(jobs.map((job) => job.request_id));
      const reqId = reqIds.size === 1 ? ([...reqIds][0] ?? undefined) : undefined;
      const context: LogContext = { ...(reqId ? { reqId } : {}), jobType, ...(jobs.length === 1 ? { jobId: jobs[0]!.id } : {}) };
      const perJob = (job: (typeof jobs)[number]) => logger.child({ ...(job.request_id ? { reqId: job.request_id } : {}), jobId: job.id, jobType });
      try {
        const outcome = await runWithLogContext(context, () => handler(...args));
        const failed = new Map((outcome?.failed ?? []).map((f) => [f.id, f.error]));
        const ms = Math.round(performance.now() - started);
        for (const job of jobs) {
          if (failed.has(job.id)) perJob(job).error({ err: failed.get(job.id), ms }, 'job failed');
          else perJob(job).info({ ms }, 'job done');
        }
        return outcome;
      } catch (error) {
        const ms = Math.round(performance.now() - started);
        for (const job of jobs) perJob(job).error({ err: error, ms }, 'job failed');
        throw error;
      }
    };
  }
  return out;
}
