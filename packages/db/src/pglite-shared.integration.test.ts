import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RoseError } from '@rose/core';
import { openPglite, type DatabaseHandle } from './database.ts';
import { openSharedPglite, type SharedPglite } from './pglite-shared.ts';

// Several processes on one embedded data dir: the first owns PGlite and shares it over a unix
// socket, the others connect with pg. One data dir for the whole file (a fresh PGlite takes
// seconds); the tests run in order and each leaves the owner as it found it.
const dbModule = pathToFileURL(path.join(import.meta.dirname, 'index.ts')).href;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rose-shared-'));
const dir = path.join(tmp, 'pglite');

interface Child {
  child: ChildProcess;
  /** Resolves with the next line the child prints. */
  line(): Promise<string>;
  exited: Promise<number | null>;
}

/** Runs ESM `code` in a child Node with `openPglite` imported and DIR set. */
function runChild(code: string): Child {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { openPglite } from ${JSON.stringify(dbModule)};\n${code}`], {
    env: { PATH: process.env.PATH, DIR: dir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buffer = '';
  let stderr = '';
  const waiting: Array<(line: string) => void> = [];
  const lines: string[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exited,
    line: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : Promise.race([
            new Promise<string>((resolve) => waiting.push(resolve)),
            exited.then((code) => {
              throw new Error(`child exited with ${code} before printing a line:\n${stderr}`);
            }),
          ]),
  };
}

const ownerThenWait = `
const h = await openPglite({ dir: process.env.DIR });
console.log(JSON.stringify(h.embedded));
process.stdin.on('end', async () => { await h.close(); console.log('closed'); process.exit(0); });
process.stdin.resume();`;

/** The handles are typed for the real schema; these tests use a table of their own. */
const any = (handle: DatabaseHandle) => handle.db as unknown as Kysely<any>;
const notes = (db: Kysely<any>) => sql<{ body: string }>`select body from notes order by id`.execute(db).then((r) => r.rows.map((row) => row.body));

let owner: DatabaseHandle;

beforeAll(async () => {
  owner = await openPglite({ dir });
  await sql`create table notes (id serial primary key, body text not null)`.execute(owner.db);
});

afterAll(async () => {
  await owner?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('embedded database shared over a socket', () => {
  it('another process reaches it through the owner, and the owner sees its write at once', async () => {
    expect(owner.embedded).toMatchObject({ role: 'owner', ownerPid: process.pid });
    expect(owner.description).toContain('opened by this process, shared with other rose commands at');
    const info = JSON.parse(fs.readFileSync(`${dir}.socket.json`, 'utf8')) as { pid: number; socketDir: string };
    expect(info.pid).toBe(process.pid);
    expect(fs.statSync(path.join(info.socketDir, '.s.PGSQL.5432')).mode & 0o777).toBe(0o600);

    const client = runChild(`
const h = await openPglite({ dir: process.env.DIR });
await h.db.transaction().execute(async (trx) => {
  await trx.insertInto('notes').values({ body: 'from another process' }).execute();
});
const [{ n }] = await h.db.selectFrom('notes').select((eb) => eb.fn.countAll().as('n')).execute();
console.log(JSON.stringify({ status: h.embedded, description: h.description, n }));
await h.close();`);
    const report = JSON.parse(await client.line()) as { status: { role: string; ownerPid: number }; description: string; n: number };
    expect(await client.exited).toBe(0);
    expect(report.status).toMatchObject({ role: 'client', ownerPid: process.pid });
    expect(report.description).toContain(`process ${process.pid}`);
    expect(report.n).toBe(1);
    expect(await notes(any(owner))).toEqual(['from another process']);
  });

  it('a worker thread of the owning process connects like any other process', async () => {
    const worker = new Worker(
      `import { workerData, parentPort } from 'node:worker_threads';
       const { openPglite } = await import(workerData.dbModule);
       const h = await openPglite({ dir: workerData.dir });
       await h.db.insertInto('notes').values({ body: 'from a worker thread' }).execute();
       parentPort.postMessage(h.embedded);
       await h.close();`,
      { eval: true, workerData: { dbModule, dir } },
    );
    const status = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(status).toMatchObject({ role: 'client', ownerPid: process.pid });
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(await notes(any(owner))).toContain('from a worker thread');
    await sql`delete from notes`.execute(owner.db);
  });
});

describe('sessions on the shared database', () => {
  let shared: SharedPglite;
  let ownerDb: Kysely<any>;
  let a: DatabaseHandle;
  let b: DatabaseHandle;

  beforeAll(async () => {
    // The owner is re-opened through the lower-level API, to watch its session queue.
    await owner.close();
    shared = await openSharedPglite({ dir, idleInTransactionTimeoutMs: 60_000 });
    ownerDb = new Kysely<any>({ dialect: shared.dialect });
    a = await openPglite({ dir });
    b = await openPglite({ dir });
    expect([a.embedded?.role, b.embedded?.role]).toEqual(['client', 'client']);
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await ownerDb.destroy();
    await shared.close();
    owner = await openPglite({ dir });
  });

  it("two clients' transactions never interleave, nor with the owner's own queries", async () => {
    let inserted!: () => void;
    const aInserted = new Promise<void>((resolve) => (inserted = resolve));
    let finishA!: () => void;
    const aMayFinish = new Promise<void>((resolve) => (finishA = resolve));
    const txA = any(a)
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('notes').values({ body: 'a (rolled back)' }).execute();
        inserted();
        await aMayFinish;
        throw new Error('roll back a');
      })
      .catch((error: Error) => error.message);
    await aInserted;

    // B's transaction starts while A's is open, and waits; then the owner's own query too.
    const txB = any(b).transaction().execute(async (trx) => {
      const seen = await notes(trx);
      await trx.insertInto('notes').values({ body: 'b' }).execute();
      return seen;
    });
    let ownerRead: Promise<string[]> | undefined;
    try {
      await vi.waitFor(() => expect(shared.sessions()!.waiting).toBe(1), { timeout: 30_000, interval: 10 });
      ownerRead = notes(ownerDb);
      await vi.waitFor(() => expect(shared.sessions()!.waiting).toBe(2), { timeout: 30_000, interval: 10 });
    } finally {
      finishA();
    }

    expect(await txA).toBe('roll back a');
    expect(await txB).toEqual([]); // A's uncommitted row was never visible to B
    expect(await ownerRead!).toEqual(['b']); // FIFO: B's transaction ran first, then the owner's read
    expect(await notes(any(a))).toEqual(['b']);
    await sql`delete from notes`.execute(ownerDb);
  });

  it('concurrent statements from two clients and the owner each get their own answers', async () => {
    // Each asker has its own statement text (the name is a literal, the number a parameter):
    // a Bind that reached another session's unnamed statement would answer with its name.
    const ask = (db: Kysely<any>, who: string, i: number) =>
      sql<{ who: string; i: number }>`select ${sql.lit(who)}::text as who, ${i}::int as i`.execute(db).then((r) => r.rows[0]);
    const asked = [];
    for (let i = 0; i < 60; i++) asked.push(ask(any(a), 'a', i), ask(any(b), 'b', i), ask(ownerDb, 'owner', i));
    const answers = await Promise.all(asked);
    answers.forEach((answer, k) => expect(answer).toEqual({ who: ['a', 'b', 'owner'][k % 3], i: Math.floor(k / 3) }));
  });

  it("a client's extended-protocol query holds the session from Parse to Sync", async () => {
    // A raw protocol client sends Parse alone and waits: nobody else may use the session (and
    // its unnamed statement) until that client's Sync.
    const raw = await rawClient(JSON.parse(fs.readFileSync(`${dir}.socket.json`, 'utf8')).socketDir);
    try {
      await raw.send(message('P', [cstr(''), cstr("select 'raw'::text as who"), int16(0)]), '1');
      const ownerAsks = sql<{ who: string }>`select ${sql.lit('owner')}::text as who`.execute(ownerDb).then((r) => r.rows[0]!.who);
      await vi.waitFor(() => expect(shared.sessions()!.waiting).toBe(1), { timeout: 30_000, interval: 10 });
      const answer = await raw.send(Buffer.concat([message('B', [cstr(''), cstr(''), int16(0), int16(0), int16(0)]), message('E', [cstr(''), int32(0)]), message('S', [])]), 'Z');
      expect(firstTextValue(answer)).toBe('raw');
      expect(await ownerAsks).toBe('owner');
    } finally {
      raw.close();
    }
  });

  it('a client that dies inside a transaction has it rolled back, and the others go on', async () => {
    const child = runChild(`
const h = await openPglite({ dir: process.env.DIR });
await h.db.transaction().execute(async (trx) => {
  await trx.insertInto('notes').values({ body: 'never committed' }).execute();
  console.log('inside');
  await new Promise(() => {});
});`);
    expect(await child.line()).toBe('inside');
    const read = notes(ownerDb); // waits behind the child's open transaction
    await vi.waitFor(() => expect(shared.sessions()!.waiting).toBe(1), { timeout: 30_000, interval: 10 });
    child.child.kill('SIGKILL');
    expect(await read).toEqual([]);
    await child.exited;
  });
});

/** Collects a listener's payloads; `count(n)` resolves once it has heard n of them. */
function hearing() {
  const heard: string[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  return {
    heard,
    onNotify: (payload: string) => {
      heard.push(payload);
      for (const w of waiting.filter((w) => heard.length >= w.n)) w.resolve();
    },
    count: (n: number) => (heard.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }))),
  };
}

const listeningChannels = (db: Kysely<any>) => sql<{ channel: string }>`select pg_listening_channels() as channel`.execute(db).then((r) => r.rows.map((row) => row.channel));

describe("the owner hears its clients' notifications", () => {
  let client: DatabaseHandle;
  beforeAll(async () => {
    client = await openPglite({ dir });
    expect(client.embedded?.role).toBe('client');
  });
  afterAll(() => client.close());

  it("a client's NOTIFY reaches the owner's listener with its payload: at commit, never for a rollback", async () => {
    const ears = hearing();
    const listener = await owner.listen!('rose_jobs', ears.onNotify);
    try {
      await sql`select pg_notify('rose_jobs', 'x')`.execute(client.db);
      await ears.count(1);
      expect(ears.heard).toEqual(['x']);

      await expect(
        any(client)
          .transaction()
          .execute(async (trx) => {
            await sql`select pg_notify('rose_jobs', 'rolled back')`.execute(trx);
            throw new Error('roll back');
          }),
      ).rejects.toThrow('roll back');
      await any(client)
        .transaction()
        .execute(async (trx) => {
          await sql`select pg_notify('rose_jobs', 'committed')`.execute(trx);
          await sql`insert into notes (body) values ('notified')`.execute(trx);
        });
      // In order: the rolled-back one would have come first.
      await ears.count(2);
      expect(ears.heard).toEqual(['x', 'committed']);

      // The owner's own NOTIFY too (PGlite parses those itself).
      await sql`select pg_notify('rose_jobs', 'from the owner')`.execute(owner.db);
      await ears.count(3);
      expect(ears.heard).toEqual(['x', 'committed', 'from the owner']);
    } finally {
      await listener.close();
      await sql`delete from notes`.execute(owner.db);
    }
  });

  it('several listeners share a channel: closing one stops only its delivery, closing the last stops the LISTEN', async () => {
    const a = hearing();
    const b = hearing();
    const listenerA = await owner.listen!('rose_jobs', a.onNotify);
    const listenerB = await owner.listen!('rose_jobs', b.onNotify);
    expect(await listeningChannels(any(owner))).toEqual(['rose_jobs']);
    await sql`select pg_notify('rose_jobs', 'one')`.execute(client.db);
    await Promise.all([a.count(1), b.count(1)]);

    await listenerA.close();
    expect(await listeningChannels(any(owner))).toEqual(['rose_jobs']);
    await sql`select pg_notify('rose_jobs', 'two')`.execute(client.db);
    await b.count(2);
    // Both are told in one go: had A still been listening, it would have heard 'two' by now.
    expect(a.heard).toEqual(['one']);
    expect(b.heard).toEqual(['one', 'two']);

    await listenerB.close();
    expect(await listeningChannels(any(owner))).toEqual([]);
    await listenerB.close(); // closing twice is harmless
  });

  it('refuses a channel name that LISTEN would change or that is not a plain name', async () => {
    await expect(owner.listen!('Rose_Jobs', () => {})).rejects.toThrow('Cannot listen on the channel "Rose_Jobs": name it with lower-case letters, digits and underscores only');
    await expect(owner.listen!('x; drop table notes', () => {})).rejects.toThrow('Cannot listen on the channel');
  });
});

describe('a client idle inside a transaction', () => {
  it('is cut off after the timeout, its transaction rolled back, and the owner goes on', async () => {
    await owner.close();
    owner = await openPglite({ dir, idleInTransactionTimeoutMs: 500 });
    const stuck = await openPglite({ dir });
    try {
      let inserted!: () => void;
      const insertedP = new Promise<void>((resolve) => (inserted = resolve));
      let goOn!: () => void;
      const mayGoOn = new Promise<void>((resolve) => (goOn = resolve));
      const tx = any(stuck).transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ body: 'stuck' }).execute();
        inserted();
        await mayGoOn;
        await trx.insertInto('notes').values({ body: 'too late' }).execute();
      });
      const failed = tx.then(
        () => undefined,
        (error: unknown) => error,
      );
      await insertedP;
      // The owner's read waits for the stuck transaction, which the timeout ends.
      expect(await notes(any(owner))).toEqual([]);
      goOn();
      const error = await failed;
      expect(error).toBeInstanceOf(RoseError);
      expect((error as RoseError).title).toBe('Embedded database connection closed');
      expect((error as RoseError).message).toContain('idle in a transaction');
      // The same handle reconnects for the next statement.
      expect(await notes(any(stuck))).toEqual([]);
    } finally {
      await stuck.close();
      await owner.close();
      owner = await openPglite({ dir });
    }
  });
});

describe('when the owner goes away', () => {
  it('a stale lock and socket file from a killed owner are recovered from', async () => {
    await sql`insert into notes (body) values ('kept')`.execute(owner.db);
    await owner.close();
    const child = runChild(ownerThenWait);
    expect(JSON.parse(await child.line())).toMatchObject({ role: 'owner' });
    const info = JSON.parse(fs.readFileSync(`${dir}.socket.json`, 'utf8')) as { pid: number; socketDir: string };
    child.child.kill('SIGKILL');
    await child.exited;
    // Everything the killed owner advertised is still there…
    expect(fs.existsSync(`${dir}.lock`)).toBe(true);
    expect(fs.existsSync(path.join(info.socketDir, '.s.PGSQL.5432'))).toBe(true);
    // …and the next process takes over all the same.
    owner = await openPglite({ dir });
    expect(owner.embedded).toMatchObject({ role: 'owner', ownerPid: process.pid });
    expect(JSON.parse(fs.readFileSync(`${dir}.socket.json`, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(await notes(any(owner))).toEqual(['kept']);
  });

  it('a client takes the database over when its owner stops, and keeps working', async () => {
    await owner.close();
    const child = runChild(ownerThenWait);
    expect(JSON.parse(await child.line())).toMatchObject({ role: 'owner' });
    const handle = await openPglite({ dir });
    try {
      expect(handle.embedded).toMatchObject({ role: 'client', ownerPid: child.child.pid });
      child.child.stdin!.end();
      expect(await child.line()).toBe('closed');
      await child.exited;
      // A statement racing the owner's exit may fail (with a message saying so); the next
      // one finds the database free and opens it in this process.
      await handle.ping(30_000).catch((error: unknown) => expect(error).toBeInstanceOf(RoseError));
      expect(await notes(any(handle))).toEqual(['kept']);
      expect(handle.embedded).toMatchObject({ role: 'owner', ownerPid: process.pid });
    } finally {
      await handle.close();
    }
    owner = await openPglite({ dir });
  });
});

describe('a listener of a client that takes the database over', () => {
  it('hears nothing while another process owns the database, and its clients\' NOTIFYs once this one does', async () => {
    await owner.close();
    const child = runChild(ownerThenWait);
    expect(JSON.parse(await child.line())).toMatchObject({ role: 'owner' });
    const handle = await openPglite({ dir });
    const ears = hearing();
    let other: DatabaseHandle | undefined;
    try {
      expect(handle.embedded).toMatchObject({ role: 'client' });
      const listener = await handle.listen!('rose_jobs', ears.onNotify);
      await sql`select pg_notify('rose_jobs', 'while a client')`.execute(handle.db);
      child.child.stdin!.end();
      expect(await child.line()).toBe('closed');
      await child.exited;
      await handle.ping(30_000).catch((error: unknown) => expect(error).toBeInstanceOf(RoseError));
      expect(handle.embedded).toMatchObject({ role: 'owner', ownerPid: process.pid });

      other = await openPglite({ dir });
      expect(other.embedded).toMatchObject({ role: 'client' });
      await sql`select pg_notify('rose_jobs', 'after the takeover')`.execute(other.db);
      await ears.count(1);
      expect(ears.heard).toEqual(['after the takeover']);

      // Ownership ends with close: the listener is left with nothing to do, and closes quietly.
      await other.close();
      other = undefined;
      await handle.close();
      await listener.close();
    } finally {
      await other?.close();
      await handle.close();
    }
    owner = await openPglite({ dir });
  });
});

describe('an owner that cannot listen on a socket', () => {
  it('keeps the database, and other processes are told why at once', async () => {
    await owner.close();
    const socketDir = `${dir}-socket`;
    fs.rmSync(socketDir, { recursive: true, force: true });
    fs.writeFileSync(socketDir, 'a file where the socket folder should be');
    try {
      const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
      owner = await openPglite({ dir });
      expect((await warned).message).toContain(`The embedded database at ${dir} is not shared with other processes`);
      expect(owner.embedded).toMatchObject({ role: 'owner', socket: undefined });
      expect(await notes(any(owner))).toEqual(['kept']);
      const refused = await openPglite({ dir, waitForOwnerMs: 60_000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(RoseError);
      expect((refused as RoseError).title).toBe('Embedded database in use');
      expect((refused as RoseError).message).toContain(`process ${process.pid}), which could not share it with other processes`);
    } finally {
      await owner.close();
      fs.rmSync(socketDir, { force: true });
    }
  });
});

// A minimal Postgres wire-protocol client, to send messages one at a time.
const cstr = (text: string) => Buffer.from(`${text}\0`, 'utf8');
const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
function message(type: string, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'ascii'), int32(body.length + 4), body]);
}

/** Connects, does the start-up, and sends messages, resolving once a reply of `until`'s type arrives. */
async function rawClient(socketDir: string): Promise<{ send(data: Buffer, until: string): Promise<Buffer>; close(): void }> {
  const socket = net.createConnection(path.join(socketDir, '.s.PGSQL.5432'));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = Buffer.alloc(0);
  let waiting: { until: number; resolve: (b: Buffer) => void } | undefined;
  const check = () => {
    if (!waiting) return;
    for (let at = 0; at + 5 <= received.length; ) {
      const length = received.readInt32BE(at + 1);
      if (at + 1 + length > received.length) return;
      if (received[at] === waiting.until) {
        const reply = received.subarray(0, at + 1 + length);
        received = received.subarray(at + 1 + length);
        const done = waiting.resolve;
        waiting = undefined;
        done(reply);
        return;
      }
      at += 1 + length;
    }
  };
  socket.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
    check();
  });
  const send = (data: Buffer, until: string) =>
    new Promise<Buffer>((resolve) => {
      waiting = { until: until.charCodeAt(0), resolve };
      socket.write(data);
      check();
    });
  const startupBody = Buffer.concat([int32(196608), cstr('user'), cstr('postgres'), cstr('database'), cstr('postgres'), Buffer.from([0])]);
  await send(Buffer.concat([int32(startupBody.length + 4), startupBody]), 'Z');
  return { send, close: () => socket.destroy() };
}

/** The first column of the first DataRow in `reply`, as text. */
function firstTextValue(reply: Buffer): string | undefined {
  for (let at = 0; at + 5 <= reply.length; at += 1 + reply.readInt32BE(at + 1)) {
    if (reply[at] === 0x44) {
      const length = reply.readInt32BE(at + 7);
      return reply.subarray(at + 11, at + 11 + length).toString('utf8');
    }
  }
  return undefined;
}
