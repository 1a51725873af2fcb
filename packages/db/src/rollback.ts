import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { RoseError, type Clock } from '@rose/core';

// Works on any schema: it reads the catalogue, not our table types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** What reverting migrations removes from one table. */
export interface DataLoss {
  table: string;
  /** The whole table goes, some of its columns, or some of its rows (a down migration deleting data). */
  kind: 'table' | 'columns' | 'rows';
  /** The dropped columns, for `kind: 'columns'`. */
  columns: string[];
  /** Rows whose data goes: all rows of a dropped table, rows with a value in a dropped column, deleted rows. */
  rows: number;
}

/** What `rollback(steps)` would do, found by a dry run (see `planRollback`). */
export interface RollbackPlan {
  /** The migrations to revert, newest first. */
  migrations: string[];
  /** Every table and column the rollback drops (with row counts, possibly 0) and rows it deletes. */
  losses: DataLoss[];
}

export interface RollbackBackup {
  /** `<backupDir>/<timestamp>/`: `manifest.json` plus one `<table>.json` per affected table. */
  dir: string;
  tables: { table: string; rows: number; file: string }[];
}

/** Whether carrying out the plan destroys any row of data. */
export function losesData(plan: RollbackPlan): boolean {
  return plan.losses.some((l) => l.rows > 0);
}

interface TableShape {
  columns: string[];
  rows: number;
}
type Shape = Map<string, TableShape>;

/** Tables of the current schema (kysely's own bookkeeping left out), their columns and row counts. */
export async function shapeOf(db: AnyDb): Promise<Shape> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name
    from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
    order by c.table_name, c.ordinal_position`.execute(db);
  const shape: Shape = new Map();
  for (const { table_name: table, column_name: column } of columns.rows) {
    if (table.startsWith('kysely_migration')) continue;
    let entry = shape.get(table);
    if (!entry) shape.set(table, (entry = { columns: [], rows: 0 }));
    entry.columns.push(column);
  }
  for (const [table, entry] of shape) entry.rows = await countRows(db, table);
  return shape;
}

async function countRows(db: AnyDb, table: string, nonNullColumns: string[] = []): Promise<number> {
  const where = nonNullColumns.length > 0 ? sql` where ${sql.join(nonNullColumns.map((c) => sql`${sql.ref(c)} is not null`), sql` or `)}` : sql``;
  const result = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}${where}`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}

/** How many rows a table or column loss touches now (a 'rows' loss cannot be recounted: 0). */
export async function countLoss(db: AnyDb, loss: DataLoss): Promise<number> {
  if (loss.kind === 'rows') return 0;
  return countRows(db, loss.table, loss.kind === 'columns' ? loss.columns : []);
}

/**
 * What changed between two shapes of one database. Dropped columns are counted on `db`,
 * which must show the `before` state again (the caller rolled back to a savepoint).
 */
export async function lossesBetween(db: AnyDb, before: Shape, after: Shape): Promise<DataLoss[]> {
  const losses: DataLoss[] = [];
  for (const [table, was] of before) {
    const now = after.get(table);
    if (!now) {
      losses.push({ table, kind: 'table', columns: [], rows: was.rows });
      continue;
    }
    const dropped = was.columns.filter((c) => !now.columns.includes(c));
    if (dropped.length > 0) losses.push({ table, kind: 'columns', columns: dropped, rows: await countRows(db, table, dropped) });
    if (now.rows < was.rows) losses.push({ table, kind: 'rows', columns: [], rows: was.rows - now.rows });
  }
  return losses;
}

/**
 * Writes every row of `tables` as JSON to a new `<backupDir>/<timestamp>/` (mode 700, files
 * 600: they may hold password hashes and signing keys). Each file is an array of rows with
 * values as Postgres gives them (timestamps as ISO strings, jsonb as JSON, bytea as
 * `\x…` hex), which `json_populate_recordset` reads back:
 * `insert into t select * from json_populate_recordset(null::t, '<file contents>')`.
 */
export async function writeBackup(
  trx: AnyDb,
  opts: { backupDir: string; tables: string[]; plan: RollbackPlan; clock: Clock },
): Promise<RollbackBackup> {
  await fs.mkdir(opts.backupDir, { recursive: true, mode: 0o700 });
  const stamp = opts.clock.now().toISOString().replace(/[:.]/g, '-');
  let dir = path.join(opts.backupDir, stamp);
  for (let n = 2; ; n++) {
    try {
      await fs.mkdir(dir, { mode: 0o700 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      dir = path.join(opts.backupDir, `${stamp}-${n}`);
    }
  }
  const tables: RollbackBackup['tables'] = [];
  for (const table of opts.tables) {
    const file = path.join(dir, `${table}.json`);
    const handle = await fs.open(file, 'wx', 0o600);
    let rows = 0;
    try {
      await handle.write('[');
      // Pages in physical order: the tables are locked, so the order is stable.
      for (;;) {
        const page = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by ctid limit 1000 offset ${rows}`.execute(trx);
        for (const row of page.rows) await handle.write(`${rows++ === 0 ? '\n' : ',\n'}${JSON.stringify(row, backupValue)}`);
        if (page.rows.length < 1000) break;
      }
      await handle.write(rows === 0 ? ']\n' : '\n]\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    tables.push({ table, rows, file });
  }
  const manifest = {
    createdAt: opts.clock.now().toISOString(),
    reason: `rose db rollback of ${opts.plan.migrations.join(', ')}`,
    losses: opts.plan.losses,
    tables: tables.map((t) => ({ table: t.table, rows: t.rows, file: path.basename(t.file) })),
    restore:
      'Each <table>.json holds every row the table had. After `rose db migrate` has re-created the table, load it with: ' +
      "insert into <table> select * from json_populate_recordset(null::<table>, '<file contents, quotes doubled>'); " +
      'for a table that only lost columns, update its rows from the same data instead.',
  };
  await fs.writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { dir, tables };
}

function backupValue(this: unknown, _key: string, value: unknown): unknown {
  // bytea: PGlite gives a Uint8Array, pg a Buffer (which JSON.stringify has turned into {type, data}).
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (value && typeof value === 'object' && 'type' in value && value.type === 'Buffer' && 'data' in value && Array.isArray(value.data)) {
    return `\\x${Buffer.from(value.data as number[]).toString('hex')}`;
  }
  return typeof value === 'bigint' ? value.toString() : value;
}

export class RollbackRefusedError extends RoseError {
  readonly plan: RollbackPlan;
  constructor(plan: RollbackPlan, reason: 'no-approval' | 'declined' | 'changed') {
    const texts = {
      'no-approval': {
        title: 'Rollback would delete data',
        message: `Reverting ${plan.migrations.join(', ')} deletes:\n${describeLosses(plan).join('\n')}`,
        hint: 'Nothing was changed. Run it at a terminal to confirm, or pass --force; either way a backup is written first.',
      },
      declined: { title: 'Rollback cancelled', message: 'Not confirmed; nothing was changed.', hint: undefined },
      changed: {
        title: 'Database changed during the rollback',
        message: 'Another process changed the migrations or the data to be dropped after the rollback was planned; nothing was changed.',
        hint: 'Run the command again.',
      },
    }[reason];
    super({ code: 'rollback-refused', title: texts.title, message: texts.message, ...(texts.hint ? { hint: texts.hint } : {}) });
    this.name = 'RollbackRefusedError';
    this.plan = plan;
  }
}

/**
 * One line per loss, for messages and prompts, e.g.
 * `  table   oauth_clients        3 rows` or
 * `  columns users                1 row with a value in password_hash`.
 *
 * @example
 * describeLosses(await migrations.planRollback(2)).forEach((line) => console.log(line));
 */
export function describeLosses(plan: RollbackPlan): string[] {
  const width = Math.max(0, ...plan.losses.map((l) => l.table.length));
  return plan.losses.map((l) => {
    const what = l.kind === 'table' ? 'table  ' : l.kind === 'columns' ? 'columns' : 'rows of';
    const rows = `${String(l.rows).padStart(9)} ${l.rows === 1 ? 'row' : 'rows'}`;
    const detail = l.kind === 'columns' ? ` with a value in ${l.columns.join(', ')}` : l.kind === 'rows' ? ' deleted' : '';
    return `  ${what} ${l.table.padEnd(width)}${rows}${detail}`;
  });
}
