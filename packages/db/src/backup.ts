import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { z } from 'zod';
import { DatabaseUnreachableError, maskUrl, parseWithFriendlyErrors, RoseError, systemClock, type Clock } from '@rose/core';
import type { Config } from '@rose/config';
import { dumpPgliteOverSocket, type RunSql } from './backup-pglite.ts';
import { openDatabase } from './database.ts';
import { createMigrations } from './migrations.ts';
import { openSharedPglite } from './pglite-shared.ts';
import { socketFile } from './pglite-ownership.ts';
import type { Database } from './schema.ts';

// Works on any schema: it reads the catalogue, not our table types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

type DatabaseConfig = Config['database'];

/** `pgdump`: pg_dump's custom format (Postgres); `sql`: a plain SQL script (PGlite's pg_dump). */
export type BackupFormat = 'pgdump' | 'sql';

const manifestSchema = z.object({
  rose: z.literal('backup'),
  version: z.literal(1),
  format: z.enum(['pgdump', 'sql']),
  database: z.enum(['postgres', 'pglite']),
  createdAt: z.iso.datetime(),
  serverVersion: z.string(),
  dumpedBy: z.string(),
  schemas: z.array(z.string().min(1)).min(1),
  migrations: z.array(z.string()),
  tables: z.record(z.string(), z.number().int().nonnegative()),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/**
 * Written as the last line of every backup (`-- rose-backup {…}`, an SQL comment, which
 * pg_restore ignores after its archive): what the dump holds, and the size and SHA-256 of
 * everything before that line, so an incomplete or altered file is refused before a restore
 * touches anything.
 */
export type BackupManifest = z.infer<typeof manifestSchema>;

/** A backup file in a backups folder. */
export interface BackupFile {
  path: string;
  name: string;
  format: BackupFormat;
  /** From the name (second precision). */
  createdAt: Date;
  bytes: number;
}

export interface BackupResult {
  path: string;
  manifest: BackupManifest;
  /** Size of the whole file. */
  bytes: number;
}

const TRAILER = '\n-- rose-backup ';
const NAME = /^rose-(\d{8}T\d{6}Z)(?:-(\d+))?\.(pgdump|sql)$/;
const extension: Record<BackupFormat, string> = { pgdump: 'pgdump', sql: 'sql' };

/** Where `rose db backup` writes by default: apart from `rose db rollback`'s table saves in `<dataDir>/backups/<time>/`. */
export function defaultBackupDir(dataDir: string): string {
  return path.join(dataDir, 'backups', 'database');
}

/**
 * Dumps the whole database to a new file in `dir`, named by the time and the format:
 * `rose-20261129T211500Z.pgdump` (Postgres, `pg_dump -Fc`, which must not be older than the
 * server) or `rose-20261129T211500Z.sql` (embedded PGlite: its pg_dump, over the socket of
 * whichever process has the database open, so it works while `rose serve` runs). Row counts,
 * migrations and the dump come from one snapshot. The file appears under its name only when
 * complete (written to a hidden temporary name first); it is readable by this user only.
 *
 * @example
 * const { path, manifest } = await createBackup(config.database, { dir: defaultBackupDir(config.dataDir) });
 */
export async function createBackup(database: DatabaseConfig, opts: { dir: string; clock?: Clock; onProgress?: (line: string) => void }): Promise<BackupResult> {
  const format: BackupFormat = database.kind === 'postgres' ? 'pgdump' : 'sql';
  const clock = opts.clock ?? systemClock;
  const now = clock.now();
  await fs.mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const name = await freeName(opts.dir, stampOf(now), format);
  const final = path.join(opts.dir, name);
  const temporary = path.join(opts.dir, `.${name}.${process.pid}.partial`);
  try {
    const dumped =
      database.kind === 'postgres'
        ? await dumpPostgres(database.url, temporary, opts.onProgress)
        : await dumpPglite(database.dir, temporary, opts.onProgress);
    const { bytes, sha256 } = await digest(temporary);
    const manifest: BackupManifest = { rose: 'backup', version: 1, format, database: database.kind, createdAt: now.toISOString(), ...dumped, bytes, sha256 };
    await fs.appendFile(temporary, `${TRAILER}${JSON.stringify(manifest)}\n`);
    const handle = await fs.open(temporary, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Never over an existing backup (a second backup in the same second picked another name).
    await fs.link(temporary, final);
    await fs.rm(temporary);
    return { path: final, manifest, bytes: (await fs.stat(final)).size };
  } catch (error) {
    await fs.rm(temporary, { force: true });
    if (error instanceof RoseError) throw error;
    throw new RoseError({
      code: 'backup-failed',
      message: `Could not back up ${describe(database)}: ${(error as Error).message}`,
      hint: 'Nothing was written. Fix the cause above and run `rose db backup` again.',
      cause: error,
    });
  }
}

type Dumped = Pick<BackupManifest, 'serverVersion' | 'dumpedBy' | 'schemas' | 'migrations' | 'tables'>;

/** Tables, their row counts, schemas and applied migrations, read with `run` (one session, one snapshot). */
async function takeInventory(run: RunSql): Promise<Omit<Dumped, 'dumpedBy'>> {
  const [[serverVersion]] = (await run('show server_version')) as [[string]];
  const schemas = (await run(`select nspname from pg_catalog.pg_namespace where ${userSchema('nspname')} order by 1`)).map((r) => r[0]!);
  const tableRows = await run(
    `select n.nspname, c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and ${userSchema('n.nspname')} order by 1, 2`,
  );
  const names = tableRows.map(([schema, table]) => ({ schema: schema!, table: table!, key: `${schema}.${table}` }));
  const tables: Record<string, number> = {};
  if (names.length > 0) {
    const counts = await run(names.map((t, i) => `select ${i}, count(*)::text from ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).join(' union all ') + ' order by 1');
    for (const [i, n] of counts) tables[names[Number(i)]!.key] = Number(n);
  }
  const migrations = names.some((t) => t.key === 'public.kysely_migration') ? (await run('select name from public.kysely_migration order by name')).map((r) => r[0]!) : [];
  return { serverVersion, schemas, tables, migrations };
}

/** Schemas of ours, not the system's. */
const userSchema = (column: string) => `${column} not in ('pg_catalog', 'information_schema') and ${column} not like 'pg\\_%'`;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function dumpPglite(dir: string, file: string, onProgress?: (line: string) => void): Promise<Dumped> {
  // Opening it makes this process the owner when nobody else has it; either way the dump goes
  // through the owner's socket, so it waits its turn with everyone else's transactions.
  const shared = await openSharedPglite({ dir });
  try {
    const status = shared.status();
    if (!status.socket) {
      throw new RoseError({
        code: 'backup-failed',
        message: `The embedded database at ${dir} is open in \`${status.ownerCommand}\` (process ${status.ownerPid}) without being shared, so it cannot be dumped from here.`,
        hint: 'Stop that process and run `rose db backup` again.',
      });
    }
    onProgress?.(
      status.role === 'client'
        ? `Dumping the embedded database through \`${status.ownerCommand}\` (process ${status.ownerPid}), which has it open…`
        : `Dumping the embedded database at ${dir}…`,
    );
    const { sql: dump, inventory } = await dumpPgliteOverSocket(socketFile(status.socket), {
      args: ['--no-owner', '--no-privileges', '--rows-per-insert=100'],
      inventory: takeInventory,
    });
    const version = /^-- Dumped by pg_dump version (.+)$/m.exec(dump)?.[1] ?? 'unknown';
    await fs.writeFile(file, dump, { mode: 0o600, flag: 'wx' });
    return { ...inventory, dumpedBy: `pg_dump ${version} (PGlite)` };
  } finally {
    await shared.close();
  }
}

async function dumpPostgres(url: string, file: string, onProgress?: (line: string) => void): Promise<Dumped> {
  const connection = libpqConnection(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new DatabaseUnreachableError(maskUrl(url), (error as Error).message, error);
  }
  try {
    const serverVersionNum = Number((await client.query<{ v: string }>('select current_setting($1) as v', ['server_version_num'])).rows[0]!.v);
    const tool = await toolVersion('pg_dump');
    const serverMajor = Math.floor(serverVersionNum / 10000);
    if (serverMajor > tool.major) {
      throw new RoseError({
        code: 'backup-failed',
        title: 'pg_dump is older than the server',
        message: `The database server runs PostgreSQL ${serverMajor}, but pg_dump here is version ${tool.version} (${tool.major}): pg_dump refuses to dump a newer server.`,
        hint: `Install the PostgreSQL ${serverMajor} client tools (Debian: postgresql-client-${serverMajor} from apt.postgresql.org) and put their bin folder first on PATH, or run the backup where they are installed.`,
      });
    }
    // One snapshot for the counts and the dump: pg_dump joins this transaction's snapshot.
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
    const run: RunSql = async (text) => (await client.query<(string | null)[]>({ text, rowMode: 'array' })).rows.map((row) => row.map((v) => (v === null ? null : String(v))));
    const inventory = await takeInventory(run);
    onProgress?.(`Dumping ${maskUrl(url)} with pg_dump ${tool.version}…`);
    await runTool('pg_dump', ['--format=custom', `--snapshot=${snapshot}`, `--file=${file}`, `--dbname=${connection.dbname}`], { env: connection.env });
    await fs.chmod(file, 0o600);
    await client.query('commit');
    return { ...inventory, dumpedBy: `pg_dump ${tool.version}` };
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL without its password (libpq reads that from PGPASSWORD, so it is not on a command line). */
function libpqConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { dbname: parsed.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

async function toolVersion(tool: string): Promise<{ version: string; major: number }> {
  const out = await runTool(tool, ['--version'], {});
  const match = /(\d+)(?:\.(\d+))?/.exec(out.stdout);
  if (!match) throw new Error(`could not read the version of ${tool} from: ${out.stdout.trim()}`);
  return { version: match[2] ? `${match[1]}.${match[2]}` : match[1]!, major: Number(match[1]) };
}

/** Runs a PostgreSQL client tool; fails with what it printed on standard error. */
function runTool(tool: string, args: string[], opts: { env?: NodeJS.ProcessEnv }): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? toolMissing(tool) : error));
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(stdout).toString('utf8') });
      else reject(new Error(`${tool} failed (exit code ${code}): ${Buffer.concat(stderr).toString('utf8').trim()}`));
    });
  });
}

function toolMissing(tool: string): RoseError {
  return new RoseError({
    code: 'backup-failed',
    title: `${tool} not found`,
    message: `Backups and restores of a Postgres database use ${tool}, which is not on PATH.`,
    hint: 'Install the PostgreSQL client tools of the server\'s version or newer (Debian: apt-get install postgresql-client).',
  });
}

async function digest(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function stampOf(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

async function freeName(dir: string, stamp: string, format: BackupFormat): Promise<string> {
  const taken = new Set(await fs.readdir(dir));
  for (let n = 1; ; n++) {
    const name = `rose-${stamp}${n === 1 ? '' : `-${n}`}.${extension[format]}`;
    if (!taken.has(name)) return name;
  }
}

function describe(database: DatabaseConfig): string {
  return database.kind === 'postgres' ? maskUrl(database.url) : `the embedded database at ${database.dir}`;
}

/**
 * Reads and checks a backup without touching any database: that it exists, ends with the
 * manifest `createBackup` writes, and that the size and SHA-256 of the dump match it.
 * Throws RoseError `backup-invalid` saying what is wrong.
 */
export async function readBackup(file: string): Promise<BackupManifest> {
  const invalid = (message: string, hint = 'Nothing was changed. Pick a file `rose db backup` wrote (by default in <ROSE_DATA_DIR>/backups/database/).') =>
    new RoseError({ code: 'backup-invalid', message: `${file}: ${message}`, hint });
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw invalid('no such file.');
  }
  if (!stat.isFile()) throw invalid('not a file.');
  const handle = await fs.open(file, 'r');
  let tail: string;
  let tailStart: number;
  try {
    const length = Math.min(stat.size, 1024 * 1024);
    tailStart = stat.size - length;
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, tailStart);
    tail = buffer.toString('latin1');
  } finally {
    await handle.close();
  }
  const at = tail.lastIndexOf(TRAILER);
  if (at < 0 || !tail.endsWith('\n')) throw invalid('not a backup written by `rose db backup`, or cut short (its closing manifest line is missing).');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(tail.slice(at + TRAILER.length, -1), 'latin1').toString('utf8'));
  } catch {
    throw invalid('its manifest line is not valid JSON.');
  }
  const parsed = parseWithFriendlyErrors(manifestSchema, json);
  if (!parsed.ok) throw invalid(`its manifest is not one this version understands: ${parsed.problems.join('; ')}.`);
  const manifest = parsed.value;
  const bodyLength = tailStart + at;
  if (bodyLength !== manifest.bytes) throw invalid(`the dump is ${bodyLength} bytes but the manifest says ${manifest.bytes}: the file is incomplete or was changed.`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: 0, end: bodyLength - 1 })) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== manifest.sha256) throw invalid('the dump does not match its checksum: the file was damaged or changed.');
  return manifest;
}

/** Whether a database already holds something a restore would replace. */
export interface TargetState {
  /** Tables with rows (`schema.table` → rows). */
  tablesWithRows: Record<string, number>;
  /** Applied migrations. */
  migrations: number;
}

export function isEmptyTarget(state: TargetState): boolean {
  return state.migrations === 0 && Object.keys(state.tablesWithRows).length === 0;
}

async function describeTarget(db: AnyDb): Promise<TargetState> {
  const tables = await sql<{ schema: string; table: string }>`
    select n.nspname as schema, c.relname as table from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%' order by 1, 2`.execute(db);
  const tablesWithRows: Record<string, number> = {};
  let migrations = 0;
  for (const { schema, table } of tables.rows) {
    const rows = Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(`${schema}.${table}`)}`.execute(db)).rows[0]?.n ?? 0);
    if (schema === 'public' && table === 'kysely_migration') migrations = rows;
    else if (rows > 0 && !(schema === 'public' && table === 'kysely_migration_lock')) tablesWithRows[`${schema}.${table}`] = rows;
  }
  return { tablesWithRows, migrations };
}

export interface RestoreOptions {
  file: string;
  /** The repository's `migrations/`: after the restore, says which are pending. */
  migrationsFolder: string;
  /**
   * Asked when the database is not empty (tables with rows, or applied migrations): resolve
   * true to replace everything in it. Without it, such a restore is refused and nothing changes.
   */
  approve?: (target: TargetState) => Promise<boolean>;
  onProgress?: (line: string) => void;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** What the database held before (replaced when not empty). */
  replaced: TargetState;
  /** Migrations in `migrations/` the restored database has not applied: run `rose db migrate`. */
  pending: string[];
  /** Migrations the restored database has applied that `migrations/` does not have (a backup from newer code). */
  unknown: string[];
}

export class RestoreRefusedError extends RoseError {
  readonly target: TargetState | undefined;
  constructor(reason: 'not-empty' | 'declined' | 'changed', target: TargetState, where: string) {
    const texts = {
      'not-empty': {
        message: `${where} is not empty:\n${describeTargetState(target).join('\n')}\nA restore replaces all of it.`,
        hint: 'Nothing was changed. Run it at a terminal to confirm, or pass --force (back it up first with `rose db backup`).',
      },
      declined: { message: 'Not confirmed; nothing was changed.', hint: undefined },
      changed: { message: `${where} changed while the restore was being confirmed; nothing was changed.`, hint: 'Run the command again.' },
    }[reason];
    super({ code: 'restore-refused', title: reason === 'declined' ? 'Restore cancelled' : 'Restore refused', message: texts.message, ...(texts.hint ? { hint: texts.hint } : {}) });
    this.name = 'RestoreRefusedError';
    this.target = target;
  }
}

/** One line per table with rows, and the migrations, for messages and prompts. */
export function describeTargetState(target: TargetState): string[] {
  const entries = Object.entries(target.tablesWithRows);
  const width = Math.max(0, ...entries.map(([t]) => t.length));
  const lines = entries.map(([table, rows]) => `  ${table.padEnd(width)} ${String(rows).padStart(9)} ${rows === 1 ? 'row' : 'rows'}`);
  if (target.migrations > 0) lines.push(`  ${target.migrations} applied migration(s)`);
  return lines;
}

/**
 * Replaces the contents of the configured database with a backup from `createBackup`, in one
 * transaction: the schemas the backup holds are dropped and re-created from it, so a failure
 * leaves the database as it was. The file is checked first (manifest, size, checksum, kind
 * of database), and a database that is not empty is replaced only when `approve` agrees;
 * either refusal changes nothing. The embedded database is restored only by the process that
 * opens it: while `rose serve` (or another command) has it open, the restore is refused.
 *
 * @example
 * const result = await restoreBackup(config.database, { file, migrationsFolder: 'migrations', approve: async () => force });
 * if (result.pending.length > 0) console.log('run rose db migrate');
 */
export async function restoreBackup(database: DatabaseConfig, opts: RestoreOptions): Promise<RestoreResult> {
  const manifest = await readBackup(opts.file);
  if (manifest.database !== database.kind) {
    const made = manifest.database === 'postgres' ? 'a Postgres database (pg_dump custom format)' : 'the embedded PGlite database (SQL)';
    const here = database.kind === 'postgres' ? `Postgres (${maskUrl(database.url)})` : 'the embedded PGlite database (DATABASE_URL is not set)';
    throw new RoseError({
      code: 'backup-invalid',
      message: `${opts.file} is a backup of ${made}, but this configuration uses ${here}. Restoring one kind into the other is not supported.`,
      hint: database.kind === 'postgres' ? 'Unset DATABASE_URL to restore it into the embedded database.' : 'Set DATABASE_URL to the Postgres server to restore it there.',
    });
  }
  return database.kind === 'postgres' ? restorePostgres(database.url, manifest, opts) : restorePglite(database.dir, manifest, opts);
}

/** Asks `approve` when the target is not empty; refuses without it. */
async function checkTarget(state: TargetState, where: string, approve: RestoreOptions['approve']): Promise<void> {
  if (isEmptyTarget(state)) return;
  if (!approve) throw new RestoreRefusedError('not-empty', state, where);
  if (!(await approve(state))) throw new RestoreRefusedError('declined', state, where);
}

/** Statements run before the dump: its schemas are replaced whole (public as Postgres creates it). */
function replaceSchemasSql(schemas: string[]): string {
  const all = [...new Set(['public', ...schemas])];
  return [
    'SET client_min_messages = warning;',
    ...all.map((s) => `DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE;`),
    'CREATE SCHEMA public AUTHORIZATION pg_database_owner;',
    'GRANT USAGE ON SCHEMA public TO PUBLIC;',
    "COMMENT ON SCHEMA public IS 'standard public schema';",
  ].join('\n');
}

async function bodyText(file: string, bytes: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    await handle.read(buffer, 0, bytes, 0);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

async function restorePglite(dir: string, manifest: BackupManifest, opts: RestoreOptions): Promise<RestoreResult> {
  const where = `The embedded database at ${dir}`;
  const shared = await openSharedPglite({ dir });
  const db = new Kysely<Database>({ dialect: shared.dialect });
  try {
    const status = shared.status();
    if (status.role === 'client') {
      throw new RoseError({
        code: 'restore-refused',
        title: 'Embedded database in use',
        message: `${where} is open in \`${status.ownerCommand}\` (process ${status.ownerPid}). Replacing it under a running server would leave that server with sessions, caches and jobs of the data it had; nothing was changed.`,
        hint: `Stop \`${status.ownerCommand}\` (process ${status.ownerPid}) and every other rose command using the database, then run \`rose db restore\` again.`,
      });
    }
    const before = await describeTarget(db);
    await checkTarget(before, where, opts.approve);
    const script = await bodyText(opts.file, manifest.bytes);
    opts.onProgress?.(`Restoring ${manifest.createdAt} backup into ${dir}…`);
    const pglite = shared.pglite()!;
    // Holding a connection holds the one session: other processes' clients wait for it.
    await db.connection().execute(async (connection) => {
      const now = await describeTarget(connection);
      if (isEmptyTarget(before) && !isEmptyTarget(now)) throw new RestoreRefusedError('changed', now, where);
      try {
        // RESET ALL: the dump's SETs (search_path '' above all) must not stay on the session
        // every process shares.
        await pglite.exec(`BEGIN;\n${replaceSchemasSql(manifest.schemas)}\n${script}\n;RESET ALL;\nCOMMIT;`);
      } catch (error) {
        await pglite.exec('ROLLBACK; RESET ALL;').catch(() => {});
        throw new RoseError({
          code: 'restore-failed',
          message: `Restoring ${opts.file} failed and was rolled back; the database is as it was: ${(error as Error).message}`,
          hint: 'The file passed its checksum, so it was written by a version that this one cannot load. Restore it with the version of Rose Ash that made it.',
          cause: error,
        });
      }
    });
    return { manifest, replaced: before, ...(await migrationState(db, opts.migrationsFolder, manifest)) };
  } finally {
    await db.destroy();
    await shared.close();
  }
}

async function restorePostgres(url: string, manifest: BackupManifest, opts: RestoreOptions): Promise<RestoreResult> {
  const where = `The database ${maskUrl(url)}`;
  // The archive must be readable by this pg_restore before anything is touched.
  await runTool('pg_restore', ['--list', opts.file], {}).catch((error: unknown) => {
    if (error instanceof RoseError) throw error;
    throw new RoseError({
      code: 'backup-invalid',
      message: `pg_restore cannot read ${opts.file}: ${(error as Error).message}`,
      hint: `It was written by ${manifest.dumpedBy}; restore it with pg_restore of that version or newer. Nothing was changed.`,
    });
  });
  const handle = await openDatabase({ kind: 'postgres', url });
  try {
    const before = await describeTarget(handle.db);
    await checkTarget(before, where, opts.approve);
    opts.onProgress?.(`Restoring ${manifest.createdAt} backup into ${maskUrl(url)}…`);
    await pipeRestore(url, opts.file, replaceSchemasSql(manifest.schemas), isEmptyTarget(before));
    return { manifest, replaced: before, ...(await migrationState(handle.db, opts.migrationsFolder, manifest)) };
  } finally {
    await handle.close();
  }
}

/**
 * `pg_restore -f -` (the archive as SQL) into psql, inside one transaction that also drops the
 * old schemas: COMMIT is sent only after pg_restore finished cleanly, and psql stops at the
 * first error, so a failure anywhere leaves the database as it was.
 */
async function pipeRestore(url: string, file: string, prelude: string, expectEmpty: boolean): Promise<void> {
  const connection = libpqConnection(url);
  // Checked again inside the transaction: a database found without migrations has none when replaced.
  const guard = expectEmpty
    ? "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'kysely_migration' AND n.nspname = 'public') THEN IF EXISTS (SELECT 1 FROM public.kysely_migration) THEN RAISE EXCEPTION 'rose: the database was migrated while the restore started'; END IF; END IF; END $$;\n"
    : '';
  const psql = spawn('psql', ['-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', `--dbname=${connection.dbname}`], { env: connection.env, stdio: ['pipe', 'ignore', 'pipe'] });
  const restore = spawn('pg_restore', ['--no-owner', '--no-privileges', '--file=-', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const psqlErr: Buffer[] = [];
  const restoreErr: Buffer[] = [];
  psql.stderr.on('data', (c: Buffer) => psqlErr.push(c));
  restore.stderr.on('data', (c: Buffer) => restoreErr.push(c));
  psql.stdin.on('error', () => {}); // psql stopped at an error: its exit code says so
  const exited = (child: ReturnType<typeof spawn>, tool: string) =>
    new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? toolMissing(tool) : error));
      child.once('close', (code) => resolve(code ?? 1));
    });
  const psqlDone = exited(psql, 'psql');
  psqlDone.catch(() => {}); // awaited below, unless pg_restore failed to start first
  const restoreDone = exited(restore, 'pg_restore');
  psql.stdin.write(`BEGIN;\n${guard}${prelude}\n`);
  restore.stdout!.pipe(psql.stdin, { end: false });
  const [restoreCode] = await Promise.all([restoreDone, new Promise((resolve) => restore.stdout!.once('end', resolve))]).catch((error: unknown) => {
    psql.kill();
    throw error;
  });
  if (restoreCode === 0) psql.stdin.end('COMMIT;\n');
  else psql.kill(); // the transaction dies with the connection
  const psqlCode = await psqlDone;
  if (restoreCode !== 0 || psqlCode !== 0) {
    const said = [Buffer.concat(restoreErr).toString('utf8').trim(), Buffer.concat(psqlErr).toString('utf8').trim()].filter(Boolean).join('\n');
    throw new RoseError({
      code: 'restore-failed',
      message: `Restoring ${file} failed and was rolled back; the database is as it was.\n${said}`,
      hint: 'Check the message above (a missing role or extension on this server, a pg_restore older than the backup).',
    });
  }
}

async function migrationState(db: AnyDb, folder: string, manifest: BackupManifest): Promise<{ pending: string[]; unknown: string[] }> {
  const status = await createMigrations(db as Kysely<Database>, folder).status();
  const known = new Set(status.map((m) => m.name));
  return { pending: status.filter((m) => !m.executedAt).map((m) => m.name), unknown: manifest.migrations.filter((m) => !known.has(m)) };
}

/** Backups `createBackup` wrote in `dir` (by their names), oldest first. */
export async function listBackups(dir: string): Promise<BackupFile[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: (BackupFile & { seq: number })[] = [];
  for (const name of names) {
    const match = NAME.exec(name);
    if (!match) continue;
    const stat = await fs.stat(path.join(dir, name));
    if (!stat.isFile()) continue;
    const s = match[1]!;
    const createdAt = new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`);
    files.push({ path: path.join(dir, name), name, format: match[3] as BackupFormat, createdAt, bytes: stat.size, seq: Number(match[2] ?? 1) });
  }
  files.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.seq - b.seq);
  return files.map(({ seq: _seq, ...file }) => file);
}

/**
 * Deletes the oldest backups in `dir` beyond the newest `keep`. Only files named as
 * `createBackup` names them and ending with its manifest are counted or deleted; anything
 * else in the folder is left alone.
 */
export async function pruneBackups(dir: string, keep: number): Promise<{ deleted: BackupFile[]; kept: BackupFile[] }> {
  if (!Number.isInteger(keep) || keep < 1) throw new RoseError({ code: 'bad-argument', message: `keep must be a whole number of at least 1, not ${keep}.` });
  const ours: BackupFile[] = [];
  for (const file of await listBackups(dir)) if (await endsWithManifest(file.path)) ours.push(file);
  const cut = Math.max(0, ours.length - keep);
  const deleted = ours.slice(0, cut);
  for (const file of deleted) await fs.rm(file.path);
  return { deleted, kept: ours.slice(cut) };
}

async function endsWithManifest(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const tail = buffer.toString('latin1');
    const at = tail.lastIndexOf(TRAILER);
    return at >= 0 && tail.endsWith('\n') && /"rose":"backup"/.test(tail.slice(at));
  } finally {
    await handle.close();
  }
}
