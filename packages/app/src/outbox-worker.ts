import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';
import { whenNoDeploy } from '@rose/deploy/lock';
import { createWorker, listenForEmbeddedJobs, listenForJobs, type BatchHandler, type Worker } from '@rose/jobs';
import { runWithLogContext, type LogContext } from '@rose/observability';
import type { Logger } from './logger.ts';
import type { ReleasePatch, SiteBuilder } from '@rose/site-build';
import { createBlogJobHandlers, type RebuildRequest } from './blog-jobs.ts';
import { createMarketJobHandlers, createMarketScrapeHandlers, marketScrapeJob, scheduleCycleBoundaryRebuild } from './market-jobs.ts';
import { marketStockFragment } from './fragment-names.ts';
import type { Services } from './services.ts';
import { readSnapshots, staticSources } from './wire-site.ts';

export interface OutboxWorkerOptions {
  /** The build pipeline of this process (it keeps the live release's renderer warm); without one, rebuild jobs are left to a worker that has one. */
  siteBuild?: SiteBuilder;
  /** A server in this process can serve a rebuild's pages before the release is complete. */
  onPatch?: (patch: ReleasePatch) => void;
  pollMs?: number;
}

/**
 * The outbox worker over open services: every part's job handlers, rebuilds through the
 * process's build pipeline against the already open database.
 */
export function startOutboxWorker({ db, services }: { db: Kysely<Database>; services: Services }, opts: OutboxWorkerOptions): Worker {
  const siteBuild = opts.siteBuild;
  const sources = staticSources(services.config);
  // On top of the snapshots the live release was built from (when this process built it),
  // read only what changed: a one-post edit costs a few small queries at any size.
  const snapshotsFor = async (request: RebuildRequest) => {
    const base = request.shared ? undefined : await siteBuild?.snapshotsOfLive();
    const source = sources.find((s) => s.part === request.part);
    if (!base || !source?.refresh) return readSnapshots(services.config, { db });
    return { ...base, [request.part]: await source.refresh(db, base[request.part], request.slugs) };
  };
  // Deploys need Postgres; with the embedded database (one machine, one session) there is
  // none to wait for, and holding its one session for the rebuild would block the rebuild's own reads.
  const afterAnyDeploy = <T>(body: () => Promise<T>): Promise<T> => (services.config.database.kind === 'postgres' ? whenNoDeploy(db, body) : body());
  const rebuild = async (request: RebuildRequest) => {
    services.logger.info({ part: request.part, slugs: request.slugs.length, shared: request.shared }, 'rebuilding');
    const readStarted = performance.now();
    // CPU this process spent until the pages were served (the load-independent figure on a
    // busy machine), and wall time.
    const cpuStarted = process.cpuUsage();
    let liveCpuMs: number | undefined;
    let liveMs: number | undefined;
    const onPatch = async (patch: ReleasePatch) => {
      await opts.onPatch?.(patch);
      const cpu = process.cpuUsage(cpuStarted);
      liveCpuMs = Math.round((cpu.user + cpu.system) / 1000);
      liveMs = Math.round(performance.now() - readStarted);
    };
    if (!siteBuild) throw new Error('rebuilds run in `rose serve` or `rose worker`, not here');
    let readMs = 0;
    // A deploy of this site (`rose deploy`, from another machine) goes first, and the data is
    // read after it: the rebuild starts from what the deploy seeded and made live.
    const result = await afterAnyDeploy(async () => {
      const snapshots = await snapshotsFor(request);
      readMs = Math.round(performance.now() - readStarted);
      return siteBuild.build({ snapshots, parts: [request.part], targeted: true, liveCode: true, onPatch });
    });
    services.logger.info(
      { release: result.release, kind: result.kind, rendered: result.rendered, changed: result.changed, pages: result.pages, ms: Math.round(result.seconds * 1000), liveMs, liveCpuMs, timings: { read: readMs, ...result.timings } },
      'rebuild live',
    );
  };
  const database = services.config.database;
  const worker = createWorker({
    db,
    // Without a build pipeline (rose dev) rebuild jobs stay queued for a worker that has one.
    handlers: traced(
      services.logger,
      siteBuild
        ? { ...createBlogJobHandlers(services, rebuild), ...createMarketJobHandlers(() => services.fragments.purge(marketStockFragment), rebuild, () => scheduleCycleBoundaryRebuild(db, services.clock.now())), ...createMarketScrapeHandlers(db, services), ...services.auth.jobHandlers, ...services.federation.jobHandlers() }
        : { ...createMarketScrapeHandlers(db, services), ...services.auth.jobHandlers, ...services.federation.jobHandlers() },
    ),
    logger: services.logger,
    clock: services.clock,
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
    // A scrape crawls politely (one request per interval per host): hours, not the default half hour.
    deadlines: { [marketScrapeJob.type]: 4 * 3_600_000 },
    // Jobs queued by another process (`rose serve --no-worker`, a `rose` command) wake this
    // worker at once: on Postgres through a LISTEN connection of its own; on PGlite while this
    // process owns the database (its socket hears its clients' NOTIFYs). Polling stays as the
    // fallback (ADR 0012).
    ...(database.kind === 'postgres'
      ? { wakeUps: (poke: () => void) => listenForJobs({ url: database.url, onJobs: poke, logger: services.logger }) }
      : services.database.listen
        ? { wakeUps: (poke: () => void) => listenForEmbeddedJobs({ listen: services.database.listen!, onJobs: poke }) }
        : {}),
  });
  services.jobs.setWaker(() => worker.poke());
  // Pages that say when a cycle opens or closes are rebuilt when it does.
  if (siteBuild) void scheduleCycleBoundaryRebuild(db, services.clock.now()).catch((error: unknown) => services.logger.warn({ err: error }, 'could not schedule the rebuild at the next cycle boundary'));
  return worker;
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
