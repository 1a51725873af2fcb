import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';
import { pgDump } from '@electric-sql/pglite-tools/pg_dump';
import type { DumpWorkerData, DumpWorkerMessage } from './backup-pglite.ts';

// PGlite's pg_dump (WASM) talks the Postgres wire protocol through one synchronous call: it
// hands over the bytes it would send and expects every byte of the answer before it reads.
// A socket answers asynchronously, so pg_dump runs here and blocks on Atomics.wait while the
// parent thread carries each exchange to the embedded database's socket and back.

const { control, data, args } = workerData as DumpWorkerData;
const state = new Int32Array(control);
const buffer = new Uint8Array(data);
const post = (message: DumpWorkerMessage) => parentPort!.postMessage(message);

/** Sends what pg_dump wrote and returns the whole answer, in chunks as big as the shared buffer. */
function exchange(bytes: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [];
  Atomics.store(state, 0, 0);
  post({ type: 'send', bytes: bytes.slice() });
  for (;;) {
    Atomics.wait(state, 0, 0);
    const length = Atomics.load(state, 1);
    if (Atomics.load(state, 3) === 1) throw new Error(new TextDecoder().decode(buffer.slice(0, length)));
    chunks.push(buffer.slice(0, length));
    if (Atomics.load(state, 2) === 0) break;
    Atomics.store(state, 0, 0);
    post({ type: 'next' });
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

// pgDump asks only these of its `pg`. Its own queries before and after the dump (the search
// path, DEALLOCATE ALL) are for a PGlite it shares a session with; the parent thread undoes
// what pg_dump changed on the shared session itself, so here they do nothing.
const bridge = {
  query: async () => ({ rows: [{ search_path: 'unchanged' }] }),
  exec: async () => [],
  execProtocolRawStream(message: Uint8Array, opts: { onRawData: (data: Uint8Array) => void }): Promise<void> {
    const answer = exchange(message);
    if (answer.length > 0) opts.onRawData(answer);
    return Promise.resolve();
  },
};

try {
  const file = await pgDump({ pg: bridge as unknown as PGlite, args });
  post({ type: 'done', sql: await file.text() });
} catch (error) {
  post({ type: 'failed', message: (error as Error).message });
}
