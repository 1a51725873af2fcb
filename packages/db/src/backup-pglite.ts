import net from 'node:net';
import { Worker } from 'node:worker_threads';

/** What the dump worker is started with. */
export interface DumpWorkerData {
  /** Int32 ×4: [answer ready, chunk length, more chunks follow, failed]. */
  readonly control: SharedArrayBuffer;
  /** One chunk of an answer (or the failure's text). */
  readonly data: SharedArrayBuffer;
  /** pg_dump arguments (pgDump adds `--inserts -j 1 -f … -U postgres`). */
  readonly args: string[];
}

export type DumpWorkerMessage =
  | { type: 'send'; bytes: Uint8Array }
  | { type: 'next' }
  | { type: 'done'; sql: string }
  | { type: 'failed'; message: string };

/** Runs one simple-protocol query on the dump's own session; every value as text (null for NULL). */
export type RunSql = (text: string) => Promise<(string | null)[][]>;

const CHUNK = 4 * 1024 * 1024;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Dumps the embedded database as plain SQL with PGlite's pg_dump (WASM), over the unix socket
 * of the process that owns it — `rose serve`, or this process itself — so a backup works
 * whoever has the database open.
 *
 * Consistency: right after pg_dump's connection starts, this opens a `REPEATABLE READ, READ
 * ONLY` transaction on it, runs `inventory` (row counts, migrations) there, and lets pg_dump
 * run inside the same transaction. The socket server gives a client the one PGlite session
 * until its transaction ends, so nothing else runs between the inventory and the last row
 * dumped; everyone else waits for the dump.
 *
 * The session is shared by every process: pg_dump's `SET`s and `search_path` are undone by
 * rolling that transaction back, and its prepared statements are deallocated, before the
 * connection closes.
 */
export async function dumpPgliteOverSocket<T>(socketPath: string, opts: { args: string[]; inventory: (run: RunSql) => Promise<T> }): Promise<{ sql: string; inventory: T }> {
  const wire = await WireConnection.open(socketPath);
  const control = new SharedArrayBuffer(16);
  const data = new SharedArrayBuffer(CHUNK);
  const state = new Int32Array(control);
  const chunkBuffer = new Uint8Array(data);
  const worker = new Worker(new URL('./backup-pglite-dump.worker.ts', import.meta.url), { workerData: { control, data, args: opts.args } satisfies DumpWorkerData });

  let inventory: { value: T } | undefined;
  let outgoing: Uint8Array = new Uint8Array(0);
  let offset = 0;
  const answerChunk = () => {
    const length = Math.min(CHUNK, outgoing.length - offset);
    chunkBuffer.set(outgoing.subarray(offset, offset + length));
    offset += length;
    Atomics.store(state, 1, length);
    Atomics.store(state, 2, offset < outgoing.length ? 1 : 0);
    Atomics.store(state, 3, 0);
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
  };
  const answer = (bytes: Uint8Array) => {
    outgoing = bytes;
    offset = 0;
    answerChunk();
  };
  const fail = (message: string) => {
    const bytes = new TextEncoder().encode(message).subarray(0, CHUNK);
    chunkBuffer.set(bytes);
    Atomics.store(state, 1, bytes.length);
    Atomics.store(state, 2, 0);
    Atomics.store(state, 3, 1);
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
  };

  const exchange = async (bytes: Uint8Array): Promise<Uint8Array> => {
    if (!wire.started) {
      const reply = await wire.startup(bytes);
      if (wire.started) {
        // pg_dump's session starts inside our snapshot; nothing of it outlives the rollback.
        await wire.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        inventory = { value: await opts.inventory((text) => wire.query(text)) };
      }
      return reply;
    }
    return wire.relay(bytes);
  };

  try {
    const sql = await new Promise<string>((resolve, reject) => {
      let busy = Promise.resolve();
      worker.on('message', (message: DumpWorkerMessage) => {
        switch (message.type) {
          case 'send':
            busy = busy.then(() => exchange(message.bytes).then(answer, (error: unknown) => fail((error as Error).message)));
            return;
          case 'next':
            answerChunk();
            return;
          case 'done':
            resolve(message.sql);
            return;
          case 'failed':
            reject(new Error(message.message));
            return;
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`pg_dump's worker thread stopped (exit code ${code}) before the dump was complete`)));
    });
    if (!inventory) throw new Error('pg_dump finished without connecting to the database');
    return { sql, inventory: inventory.value };
  } finally {
    await worker.terminate();
    await wire.finish();
  }
}

interface BackendMessage {
  type: number;
  body: Buffer;
  raw: Buffer;
}

/**
 * A raw wire-protocol connection that either relays pg_dump's exchanges byte for byte or runs
 * queries of its own on the same session.
 */
class WireConnection {
  readonly #socket: net.Socket;
  #received: Buffer = Buffer.alloc(0);
  #relayed: Buffer[] = [];
  #own: BackendMessage[] | undefined;
  #readyCount = 0;
  #closed: Error | undefined;
  #wake: (() => void) | undefined;
  #frontend: Buffer = Buffer.alloc(0);
  #expectByte = false;
  #inTransaction = false;
  started = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
      this.#parse();
      this.#wake?.();
    });
    const closed = (error?: Error) => {
      this.#closed ??= error ?? new Error('the embedded database closed the connection');
      this.#wake?.();
    };
    socket.on('error', closed);
    socket.on('close', () => closed());
  }

  static open(socketPath: string): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WireConnection(socket));
      });
    });
  }

  #parse(): void {
    if (this.#expectByte && this.#received.length > 0) {
      // The answer to an SSL or GSS encryption request is one byte, not a message.
      this.#relayed.push(this.#received.subarray(0, 1));
      this.#received = this.#received.subarray(1);
      this.#expectByte = false;
      this.#readyCount++;
    }
    while (this.#received.length >= 5) {
      const length = this.#received.readInt32BE(1);
      if (this.#received.length < 1 + length) break;
      const raw = this.#received.subarray(0, 1 + length);
      this.#received = this.#received.subarray(1 + length);
      const message = { type: raw[0]!, body: raw.subarray(5), raw };
      if (this.#own) this.#own.push(message);
      else this.#relayed.push(raw);
      if (message.type === 0x5a /* Z */) {
        this.#inTransaction = message.body[0] !== 0x49; /* I */
        this.#readyCount++;
      }
    }
  }

  async #until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.#closed) throw this.#closed;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  #takeRelayed(): Uint8Array {
    const out = Buffer.concat(this.#relayed);
    this.#relayed = [];
    return out;
  }

  /** pg_dump's first message: the startup packet (or an SSL request before it). */
  async startup(bytes: Uint8Array): Promise<Uint8Array> {
    const code = bytes.length >= 8 ? Buffer.from(bytes).readInt32BE(4) : 0;
    const target = this.#readyCount + 1;
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) this.#expectByte = true;
    this.#socket.write(bytes);
    // A refused start ends with an ErrorResponse and the socket closing: pg_dump reads why.
    await this.#until(() => this.#readyCount >= target || this.#closed !== undefined);
    if (!this.#expectByte && this.#readyCount >= target && code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.started = true;
    return this.#takeRelayed();
  }

  /** Passes pg_dump's messages on and answers with everything the database said to them. */
  async relay(bytes: Uint8Array): Promise<Uint8Array> {
    this.#frontend = this.#frontend.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.#frontend, bytes]);
    let answers = 0;
    let terminate = false;
    let forward = 0;
    while (this.#frontend.length - forward >= 5) {
      const type = this.#frontend[forward]!;
      const length = this.#frontend.readInt32BE(forward + 1);
      if (this.#frontend.length - forward < 1 + length) break;
      if (type === 0x58 /* X */) {
        terminate = true;
        break;
      }
      if (type === 0x51 /* Q */ || type === 0x53 /* S */) answers++;
      forward += 1 + length;
    }
    const send = this.#frontend.subarray(0, forward);
    this.#frontend = terminate ? Buffer.alloc(0) : this.#frontend.subarray(forward);
    const target = this.#readyCount + answers;
    if (send.length > 0) this.#socket.write(send);
    // An incomplete batch (no Query or Sync yet) has nothing to wait for: libpq reads only
    // after it has sent a whole request.
    await this.#until(() => this.#readyCount >= target);
    const reply = this.#takeRelayed();
    if (terminate) await this.finish();
    return reply;
  }

  /** A query of our own on pg_dump's session; its answer is not passed to pg_dump. */
  async query(text: string): Promise<(string | null)[][]> {
    const body = Buffer.from(`${text}\0`, 'utf8');
    const head = Buffer.alloc(5);
    head[0] = 0x51;
    head.writeInt32BE(body.length + 4, 1);
    const own: BackendMessage[] = [];
    this.#own = own;
    try {
      const target = this.#readyCount + 1;
      this.#socket.write(Buffer.concat([head, body]));
      await this.#until(() => this.#readyCount >= target);
    } finally {
      this.#own = undefined;
    }
    const error = own.find((m) => m.type === 0x45 /* E */);
    if (error) throw new Error(errorText(error.body));
    return own.filter((m) => m.type === 0x44 /* D */).map((m) => dataRow(m.body));
  }

  #finishing: Promise<void> | undefined;

  /** Rolls back what pg_dump changed on the shared session, then closes the connection. */
  finish(): Promise<void> {
    this.#finishing ??= (async () => {
      try {
        if (this.started && !this.#closed) await this.query(this.#inTransaction ? 'ROLLBACK; DEALLOCATE ALL' : 'DEALLOCATE ALL');
      } finally {
        await new Promise<void>((resolve) => {
          if (this.#socket.destroyed) return resolve();
          this.#socket.once('close', () => resolve());
          this.#socket.end();
        });
      }
    })();
    return this.#finishing;
  }
}

function dataRow(body: Buffer): (string | null)[] {
  const count = body.readInt16BE(0);
  const values: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length < 0) values.push(null);
    else {
      values.push(body.toString('utf8', at, at + length));
      at += length;
    }
  }
  return values;
}

/** The message ('M') and detail ('D') fields of an ErrorResponse. */
function errorText(body: Buffer): string {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    fields.set(code, body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return [fields.get('M') ?? 'unknown error', fields.get('D')].filter(Boolean).join(': ');
}
