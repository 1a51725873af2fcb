import type { IncomingMessage, ServerResponse } from 'node:http';
import { linkPaths } from '@rose/core';
import { metricsAllowed, type MetricsAccessSettings } from './metrics-access.ts';
import type { Metrics } from './metrics.ts';
import { publicReadiness, type ReadinessReport } from './readiness.ts';

/** The part of a pino logger the operations handler uses. */
export interface OperationsLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** How often an unchanged not-ready state is logged again (a probe may ask every second). */
const repeatWarningMs = 60_000;

/**
 * `/api/ready` and `/api/metrics`, answered in front of the site (a front handler of
 * `rose serve` and `rose dev`): the process that answers knows which release it serves.
 *
 * - `GET /api/ready`: the readiness report as JSON, 200 when ready, 503 otherwise. Status,
 *   each check's `ok` and the release id for everyone; the details (error text, pending
 *   migrations, the release's folder) only for a request `metricsAllowed` admits. When not
 *   ready, the details are logged at warn (again when they change, or after a minute).
 * - `GET /api/metrics`: the Prometheus exposition, to a request `metricsAllowed` admits;
 *   anyone else gets the site's plain 404 (the endpoint is not advertised).
 * Both `Cache-Control: no-store`; other methods get 405. Returns false for any other path.
 */
export function createOperationsHandler(deps: {
  readiness: () => Promise<ReadinessReport>;
  metrics: Metrics;
  access: MetricsAccessSettings;
  logger: OperationsLogger;
  /** Milliseconds since the epoch (tests control it). */
  now?: () => number;
}) {
  const ready = linkPaths.api.ready();
  const metricsPath = linkPaths.api.metrics();
  const now = deps.now ?? Date.now;
  let warned: { checks: string; at: number } | undefined;
  const logReadiness = (report: ReadinessReport) => {
    if (report.status === 'ready') {
      if (warned) deps.logger.info({ release: report.release }, 'ready again');
      warned = undefined;
      return;
    }
    const failed = Object.fromEntries(Object.entries(report.checks).filter(([, check]) => !check.ok).map(([name, check]) => [name, check.detail]));
    const checks = JSON.stringify(failed);
    if (warned && warned.checks === checks && now() - warned.at < repeatWarningMs) return;
    warned = { checks, at: now() };
    deps.logger.warn({ failed, release: report.release }, 'not ready');
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== ready && path !== metricsPath) return false;
    const allowed = metricsAllowed(
      { authorization: req.headers.authorization, remoteAddress: req.socket.remoteAddress, forwardedFor: header(req, 'x-forwarded-for') ?? header(req, 'forwarded') },
      deps.access,
    );
    if (path === metricsPath && !allowed) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end('Only GET and HEAD are allowed here.\n');
      return true;
    }
    if (path === ready) {
      const report = await deps.readiness();
      logReadiness(report);
      send(res, report.status === 'ready' ? 200 : 503, 'application/json', JSON.stringify(allowed ? report : publicReadiness(report)), req.method === 'HEAD');
    } else {
      const { contentType, body } = await deps.metrics.scrape();
      send(res, 200, contentType, body, req.method === 'HEAD');
    }
    return true;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head = false): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  res.end(head ? undefined : body);
}
