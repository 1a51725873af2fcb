import type { ColumnType, Generated } from 'kysely';
import type { Timestamp } from './columns.ts';

export type DeployResult = 'running' | 'succeeded' | 'failed' | 'rolled-back';
export type DeployTargetKind = 'local' | 'ssh' | 'swarm';

/** One step of a deploy as recorded: its name, how long it took, what it said. */
export interface DeployStepRecord {
  step: string;
  ms: number;
  detail?: string;
}

export interface DeploysTable {
  id: Generated<string>;
  target: string;
  kind: DeployTargetKind;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: Timestamp | null;
  deployed_by: string;
  commit: string;
  parts: ColumnType<string[], string, string>;
  partial: ColumnType<boolean, boolean | undefined, boolean>;
  release_id: string | null;
  previous_release_id: string | null;
  result: ColumnType<DeployResult, DeployResult | undefined, DeployResult>;
  message: string | null;
  steps: ColumnType<DeployStepRecord[], string | undefined, string>;
}

/** `rose deploy`'s record of every deploy of every target (see @rose/deploy). */
export interface DeployTables {
  deploys: DeploysTable;
}
