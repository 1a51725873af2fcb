import type { ColumnType, Generated } from 'kysely';
import type { Timestamp } from './columns.ts';

export type BuildRequestState = 'queued' | 'running' | 'live' | 'done' | 'failed' | 'withdrawn';

/** A `rose build --targeted` handed to a running server, and how it went (see @rose/app's build-requests). */
export interface BuildRequestsTable {
  id: Generated<number>;
  parts: ColumnType<string[], string, string>;
  requested_by: string;
  requested_at: ColumnType<Date, Date | string | undefined, Date | string>;
  state: ColumnType<BuildRequestState, BuildRequestState | undefined, BuildRequestState>;
  /** The worker that took it (host:pid:…). */
  worker: string | null;
  release_id: string | null;
  summary: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  error: string | null;
  live_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface BuildTables {
  build_requests: BuildRequestsTable;
}
