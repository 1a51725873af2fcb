import http from 'node:http';

export interface RawResponse {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One HTTP/1.1 request over node:http, for what `fetch` cannot do: methods it refuses (TRACE),
 * a chosen source address on loopback (`localAddress: '127.0.0.2'` is another client IP),
 * a body sent in chunks without a length, or a declared length larger than what is sent.
 * Resolves with the response (the body read to its end, or to where the server closed it).
 */
export function httpRequest(
  url: string | URL,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    /** Sent as given; an array is sent chunk by chunk (Transfer-Encoding: chunked unless a length is set). */
    body?: string | Buffer | Buffer[];
    localAddress?: string;
    /** Send only the headers and wait for the answer (with a Content-Length larger than nothing). */
    headersOnly?: boolean;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      res.on('end', done);
      res.on('error', done);
      if (opts.headersOnly) res.on('end', () => req.destroy());
    });
    // A server may answer and close before it has read everything we send: that is the
    // answer under test, not a failure.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (opts.headersOnly) {
      req.flushHeaders();
      return;
    }
    const body = opts.body;
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else req.end(body);
  });
}
