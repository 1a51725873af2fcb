import pg from 'pg';

/** The channel the `jobs_notify` trigger notifies when a transaction that queued jobs commits. */
export const jobsChannel = 'rose_jobs';

export interface JobListener {
  close(): Promise<void>;
}

/**
 * Calls `onJobs` whenever a transaction that queued jobs commits, on a connection of its own
 * (LISTEN holds it), and once after every reconnect (jobs queued while it was away). Losing the
 * connection is logged and retried with back-off (1 s doubling to 30 s); the worker's polling
 * covers the gap. Postgres only; on the embedded database the owner hears its clients'
 * notifications through its socket: `listenForEmbeddedJobs`.
 *
 * @example
 * const worker = createWorker({ db, handlers, logger, wakeUps: (poke) => listenForJobs({ url, onJobs: poke, logger }) });
 */
export async function listenForJobs(opts: {
  url: string;
  onJobs: () => void;
  logger: { error(obj: object, msg: string): void };
  retryMs?: number;
  /** The connection's `application_name` (`rose-jobs-listener`): what other sessions see of it in `pg_stat_activity`. */
  applicationName?: string;
}): Promise<JobListener> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: opts.url, application_name: opts.applicationName ?? 'rose-jobs-listener' });
    c.on('notification', () => opts.onJobs());
    c.on('error', () => {});
    c.on('end', () => {
      if (client !== c || closed) return;
      client = undefined;
      opts.logger.error({}, 'the job listener lost its connection; reconnecting (polling covers the gap)');
      schedule();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${jobsChannel}`);
    } catch (error) {
      await c.end().catch(() => {});
      throw error;
    }
    if (closed) return void (await c.end().catch(() => {}));
    client = c;
    failures = 0;
  };
  const schedule = () => {
    const delay = Math.min((opts.retryMs ?? 1000) * 2 ** failures, 30_000);
    failures++;
    retry = setTimeout(() => {
      connect().then(
        () => opts.onJobs(),
        (error: unknown) => {
          if (closed) return;
          opts.logger.error({ err: error }, 'the job listener could not reconnect; retrying');
          schedule();
        },
      );
    }, delay);
  };

  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
