import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Timestamp, CreatedAt, UpdatedAt } from './columns.ts';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

export interface JobsTable {
  id: Generated<number>;
  type: string;
  payload: ColumnType<unknown, string | undefined, string>;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: ColumnType<number, number | undefined, number>;
  run_at: ColumnType<Date, Date | string | undefined, Date | string>;
  locked_at: Timestamp | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  finished_at: Timestamp | null;
  /** The request that queued the job (its `X-Request-Id`), for the worker's logs; null outside a request. */
  request_id: string | null;
}

export interface InboundDeliveriesTable {
  source: string;
  delivery_id: string;
  received_at: CreatedAt;
}

/** The outbox and inbound-delivery dedupe (`@rose/jobs`). */
export interface JobTables {
  jobs: JobsTable;
  inbound_deliveries: InboundDeliveriesTable;
}

export type Job = Selectable<JobsTable>;
