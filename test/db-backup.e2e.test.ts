import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, type DatabaseHandle } from '@rose/db';
import { createTestDatabase, makeProjectTempDir, preparePgliteTemplate, runRose, type TestDatabase } from '@rose/testing';
import { dbBackup, dbRestore } from '../cli/src/commands/db.ts';
import { createContext } from '../cli/src/context.ts';
import { createMemoryOutput } from '../cli/src/memory-output.ts';

const backupLine = /^Backed up .+ to (\/\S+\/rose-\d{8}T\d{6}Z(?:-\d+)?\.(?:sql|pgdump))$/m;

// `rose db backup` / `rose db restore` as staff run them, on the embedded database: while
// another process has it open (as `rose serve` would), and into a fresh data folder.
// Each step starts a `rose` process; on a busy 2-core machine one can take many seconds.
describe('rose db backup and restore (embedded database, real CLI)', { timeout: 180_000 }, () => {
  let tmp: string;
  let envA: { ROSE_DATA_DIR: string };
  let owner: DatabaseHandle | undefined;
  let file: string;
  const emails = async (dataDir: string) => {
    const handle = await openPglite({ dir: path.join(dataDir, 'pglite') });
    try {
      return (await handle.db.selectFrom('users').select('email').orderBy('email').execute()).map((u) => u.email);
    } finally {
      await handle.close();
    }
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('db-backup');
    envA = { ROSE_DATA_DIR: path.join(tmp, 'a') };
    // Starts from the migrated template (a fresh PGlite plus migrations takes many seconds).
    owner = await openPglite({ dir: path.join(tmp, 'a', 'pglite'), loadDataDir: new Blob([await fs.readFile(await preparePgliteTemplate())]) });
    await owner.db.insertInto('users').values({ email: 'zoe@example.org', display_name: 'Zoë 🌹', role: 'admin', password_hash: null }).execute();
    await owner.db.insertInto('site_settings').values({ key: 'cli-test', value: JSON.stringify({ a: [1, null, 'ü'] }) }).execute();
  });
  afterAll(async () => {
    await owner?.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('backs up while another process has the database open, and a restore then is refused, naming it', async () => {
    const backup = await runRose(['db', 'backup'], envA);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toContain(`Dumping the embedded database through \``);
    expect(backup.stdout).toContain(`(process ${process.pid}), which has it open…`);
    file = backupLine.exec(backup.stdout)![1]!;
    expect(path.dirname(file)).toBe(path.join(tmp, 'a', 'backups', 'database'));
    expect(backup.stdout).toMatch(/\n {2}\d+(\.\d)? KiB, \d+ tables, \d+ rows, \d+ migrations \(latest \d{14}_\w+\); pg_dump \d+\.\d+ \(PGlite\)\n$/);

    const restore = await runRose(['db', 'restore', file, '--force'], envA);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain('✖ Embedded database in use');
    expect(restore.stderr).toContain(`(process ${process.pid}). Replacing it under a running server would leave that server with sessions, caches and jobs of the data it had; nothing was changed.`);
    expect(await owner!.db.selectFrom('users').select('email').execute()).toEqual([{ email: 'zoe@example.org' }]);
    // A change after the backup, which a restore takes back.
    await owner!.db.insertInto('users').values({ email: 'later@example.org', display_name: 'Later' }).execute();
    await owner!.close();
    owner = undefined;
  });

  it('refuses to restore over a database with data without --force (no terminal to ask), then replaces it with --force', async () => {
    const refused = await runRose(['db', 'restore', file], envA);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/✖ Restore refused\n {2}The embedded database at \S+ is not empty:\n(.|\n)*public\.users +2 rows(.|\n)*A restore replaces all of it\.\n {2}→ Nothing was changed\. Run it at a terminal to confirm, or pass --force/);

    const forced = await runRose(['db', 'restore', file, '--force'], envA);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/replaces everything in embedded PGlite at .+:\n(.|\n)* {2}public\.users +2 rows\n/);
    expect(forced.stdout).toMatch(/Restored embedded PGlite at .+ from the backup of \S+: \d+ tables, \d+ rows, \d+ migrations\.\nMigrations are current\.\n$/);
    expect(await emails(envA.ROSE_DATA_DIR)).toEqual(['zoe@example.org']);
  });

  it('restores into a fresh data folder, and prunes to --keep', async () => {
    const envB = { ROSE_DATA_DIR: path.join(tmp, 'b') };
    const restore = await runRose(['db', 'restore', file], envB);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain('Migrations are current.');
    expect(await emails(envB.ROSE_DATA_DIR)).toEqual(['zoe@example.org']);

    const bad = path.join(tmp, 'bad.sql');
    await fs.writeFile(bad, (await fs.readFile(file, 'utf8')).slice(0, 5000));
    const refused = await runRose(['db', 'restore', bad, '--force'], envB);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('✖ Not a usable backup');
    expect(refused.stderr).toContain(`${bad}: not a backup written by \`rose db backup\`, or cut short`);

    const again = await runRose(['db', 'backup', '--prune', '--keep', '1'], envA);
    expect(again.code).toBe(0);
    const kept = backupLine.exec(again.stdout)![1]!;
    expect(again.stdout).toContain(`Pruned 1 older backup(s), kept the newest 1:\n  deleted ${path.basename(file)} (`);
    expect(await fs.readdir(path.dirname(file))).toEqual([path.basename(kept)]);
  });
});

describe('rose db restore at a terminal (in-process, Postgres)', () => {
  let source: TestDatabase;
  let tmp: string;
  const context = (answers?: string[]) => {
    const out = createMemoryOutput(answers ? { answers } : {});
    return { out, ctx: createContext(out, { DATABASE_URL: source.url, ROSE_DATA_DIR: path.join(tmp, 'data'), ROSE_LOG_LEVEL: 'silent' }) };
  };
  const emails = async () => (await source.db.selectFrom('users').select('email').orderBy('email').execute()).map((u) => u.email);

  beforeAll(async () => {
    source = await createTestDatabase('postgres');
    tmp = await makeProjectTempDir('db-backup-tty');
    await source.db.insertInto('users').values({ email: 'kept@example.org', display_name: 'Kept' }).execute();
  });
  afterAll(async () => {
    await source?.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('asks before replacing a database with data: anything but "restore" changes nothing', async () => {
    const made = context();
    await dbBackup(made.ctx, {});
    const file = backupLine.exec(made.out.text())![1]!;
    expect(file.endsWith('.pgdump')).toBe(true);
    await source.db.insertInto('users').values({ email: 'added@example.org', display_name: 'Added' }).execute();

    const no = context(['yes']);
    await expect(dbRestore(no.ctx, file, {})).rejects.toMatchObject({ code: 'restore-refused', title: 'Restore cancelled' });
    expect(no.out.questions).toEqual(['Type "restore" to go ahead, anything else to stop: ']);
    expect(no.out.text()).toMatch(/replaces everything in postgres:\/\/postgres@127\.0\.0\.1:5432\/\w+:\n {2}public\.users +2 rows\n {2}\d+ applied migration\(s\)$/);
    expect(await emails()).toEqual(['added@example.org', 'kept@example.org']);

    const yes = context(['restore']);
    await dbRestore(yes.ctx, file, {});
    expect(yes.out.text()).toContain('Migrations are current.');
    expect(await emails()).toEqual(['kept@example.org']);
  });

  it('deletes old backups only with --prune', async () => {
    await expect(dbBackup(context().ctx, { keep: 3 })).rejects.toMatchObject({ title: '--keep without --prune', hint: 'Add --prune, e.g. `rose db backup --prune --keep 7`.' });
  });
});
