import { linkPaths } from '@rose/core';
import { abortableSleep } from '@rose/http';

export interface HealthExpectation {
  /** The release the servers must say they serve (`/api/ready`'s `release`); any when undefined. */
  release: string | undefined;
  timeoutMs: number;
  /** Answers in a row that must be right: behind a load balancer, each may reach another server. */
  consecutive?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  intervalMs?: number;
}

export type HealthResult = { ok: true; checks: number } | { ok: false; problem: string; checks: number };

/**
 * Polls the site's readiness endpoint (`/api/ready`) through the front door until it answers 200 for the expected
 * release `consecutive` times in a row, then asks for the home page. Never throws for what the
 * site answers: a failed check is a result the deploy acts on (by rolling back).
 */
export async function checkHealth(origin: string, expect: HealthExpectation): Promise<HealthResult> {
  const doFetch = expect.fetch ?? fetch;
  const needed = expect.consecutive ?? 3;
  const ready = linkPaths.api.ready();
  const deadline = Date.now() + expect.timeoutMs;
  let streak = 0;
  let checks = 0;
  let problem = 'no answer yet';
  while (Date.now() < deadline) {
    checks++;
    try {
      const res = await doFetch(`${origin}${ready}`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(Math.min(10_000, Math.max(1000, deadline - Date.now()))), redirect: 'manual' });
      const body = (await res.json().catch(() => undefined)) as { status?: string; release?: string; checks?: Record<string, { ok?: boolean }> } | undefined;
      const failing = Object.entries(body?.checks ?? {}).filter(([, c]) => c?.ok === false).map(([name]) => name);
      if (res.status !== 200) problem = `${ready} answered ${res.status}${body?.status ? ` (${body.status}${failing.length ? `: ${failing.join(', ')} failing` : ''})` : ''}`;
      else if (expect.release && body?.release !== expect.release) problem = `${ready} reports release ${body?.release ?? '(none)'}, not ${expect.release}`;
      else {
        streak++;
        if (streak >= needed) {
          const home = await doFetch(`${origin}/`, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
          await home.body?.cancel();
          if (home.status === 200) return { ok: true, checks };
          problem = `the home page answered ${home.status}`;
          streak = 0;
        }
        continue;
      }
    } catch (error) {
      // A probe cut short by our own deadline says nothing new: keep what the site last said.
      if (Date.now() < deadline - 100 || problem === 'no answer yet') problem = `${origin} did not answer: ${(error as Error).message}`;
    }
    streak = 0;
    await abortableSleep(expect.intervalMs ?? 500, expect.signal);
  }
  return { ok: false, problem, checks };
}
