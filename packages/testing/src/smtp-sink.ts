import { SMTPServer } from 'smtp-server';

export interface SmtpSink {
  url: string;
  messages: { to: string[]; raw: string }[];
  /** Resolves with the first message to `to` that arrives (or has arrived). */
  waitFor(to: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real SMTP server on loopback that keeps what it receives, for mail tests.
 * `refuseRecipient` returns the reason to refuse an address with `550` (a mailbox that does not exist).
 */
export async function startSmtpSink(opts: { refuseRecipient?: (address: string) => string | undefined } = {}): Promise<SmtpSink> {
  const messages: SmtpSink['messages'] = [];
  const waiting: { to: string; resolve: (raw: string) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const reason = opts.refuseRecipient?.(address.address);
      callback(reason === undefined ? undefined : Object.assign(new Error(reason), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        messages.push({ to, raw });
        for (const w of [...waiting]) {
          if (to.includes(w.to)) {
            waiting.splice(waiting.indexOf(w), 1);
            w.resolve(raw);
          }
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor(to, timeoutMs = 10_000) {
      const wanted = to.toLowerCase();
      const found = messages.find((m) => m.to.includes(wanted));
      if (found) return Promise.resolve(found.raw);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no mail to ${to} within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({ to: wanted, resolve: (raw) => (clearTimeout(timer), resolve(raw)) });
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
