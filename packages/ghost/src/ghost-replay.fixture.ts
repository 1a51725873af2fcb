import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake Ghost saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * What to answer: a recorded body, nothing at all (`hang`), or a dropped connection (`reset`).
 * `json` is sent as application/json; `body` as is, with `contentType` (default text/html).
 */
export type Reply =
  | { readonly status: number; readonly json?: unknown; readonly body?: string; readonly contentType?: string; readonly headers?: Record<string, string> }
  | 'hang'
  | 'reset';

export interface ReplayServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

/** Reads `src/fixtures/<name>`: JSON files parsed, anything else as text. A fresh copy each time. */
export function fixture(name: string): unknown {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  return name.endsWith('.json') ? (JSON.parse(text) as unknown) : text;
}

/**
 * A local stand-in for Ghost on 127.0.0.1 and a free port that replays recorded answers, so
 * the clients run their real HTTP code (fetch, timeouts, sockets) in tests.
 */
export async function startReplayServer(respond: (req: SeenRequest) => Reply): Promise<ReplayServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      const reply = respond(seen);
      if (reply === 'hang') return;
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      write(res, reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function write(res: ServerResponse, reply: Exclude<Reply, 'hang' | 'reset'>): void {
  const headers: Record<string, string> = { ...reply.headers };
  let body = '';
  if (reply.json !== undefined) {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(reply.json);
  } else if (reply.body !== undefined) {
    headers['content-type'] = reply.contentType ?? 'text/html; charset=utf-8';
    body = reply.body;
  }
  res.writeHead(reply.status, headers);
  res.end(body);
}

/** A sleep that returns at once and remembers what it was asked to wait, so backoff tests take no time. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}
