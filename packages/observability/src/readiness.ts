/** One readiness check: whether it passed and, in a few words, why. */
export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** What `/api/ready` answers (JSON), with 200 when `status` is `ready`, else 503. */
export interface ReadinessReport {
  status: 'ready' | 'not-ready';
  checks: { database: CheckResult; cache: CheckResult; migrations: CheckResult; release: CheckResult };
  /** The id of the release this process serves (null: none). A deploy compares it with the one it switched to. */
  release: string | null;
}

/** The names of the readiness checks. */
export type CheckName = keyof ReadinessReport['checks'];

/**
 * What `/api/ready` answers to anyone not allowed to read the metrics: whether each check
 * passed and the release id, without the details (error text, pending migration names, the
 * release's folder), which say more about the installation than a visitor needs.
 */
export interface PublicReadinessReport {
  status: ReadinessReport['status'];
  checks: Record<CheckName, { ok: boolean }>;
  release: string | null;
}

/**
 * The report without its details, for the public.
 *
 * @example
 * publicReadiness(report) // { status: 'not-ready', checks: { database: { ok: false }, … }, release: 'r1' }
 */
export function publicReadiness(report: ReadinessReport): PublicReadinessReport {
  const { database, cache, migrations, release } = report.checks;
  return {
    status: report.status,
    checks: { database: { ok: database.ok }, cache: { ok: cache.ok }, migrations: { ok: migrations.ok }, release: { ok: release.ok } },
    release: report.release,
  };
}

/** The release this process serves, as far as it can tell; `problem` when it is not servable. */
export interface ServedReleaseCheck {
  id: string | undefined;
  problem?: string;
}

export interface ReadinessProbes {
  /** Resolves when the database answers. */
  database(): Promise<void>;
  /** Resolves when the cache answers. */
  cache(): Promise<void>;
  /** Resolves when no migration is pending (rejects with which are). */
  migrations(): Promise<void>;
  served(): Promise<ServedReleaseCheck>;
}

/**
 * Runs the readiness checks at once, each bounded by `timeoutMs` (a database that hangs makes
 * the check fail, not the probe hang). Ready only when all four pass.
 *
 * @example
 * const report = await checkReadiness({ database: ping, cache: ping, migrations: assertCurrent, served });
 * res.writeHead(report.status === 'ready' ? 200 : 503);
 */
export async function checkReadiness(probes: ReadinessProbes, opts: { timeoutMs?: number } = {}): Promise<ReadinessReport> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const check = async (probe: () => Promise<void>, passed: string): Promise<CheckResult> => {
    try {
      await withTimeout(probe(), timeoutMs);
      return { ok: true, detail: passed };
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  };
  let servedId: string | undefined;
  const [database, cache, migrations, release] = await Promise.all([
    check(probes.database, 'answered'),
    check(probes.cache, 'answered'),
    check(probes.migrations, 'current'),
    check(async () => {
      const served = await probes.served();
      servedId = served.id;
      if (served.problem) throw new Error(served.problem);
    }, 'serving'),
  ]);
  if (release.ok) release.detail = `serving ${servedId}`;
  const ok = database.ok && cache.ok && migrations.ok && release.ok;
  return { status: ok ? 'ready' : 'not-ready', checks: { database, cache, migrations, release }, release: servedId ?? null };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
