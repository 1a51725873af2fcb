import { promises as fs } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { maskUrl } from '@rose/core';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'file';
  send(mail: Mail): Promise<{ file?: string }>;
}

/**
 * Mail goes out over SMTP (nodemailer) when SMTP_URL is set. Without it, every message is
 * written to `<dataDir>/mail/*.eml` and its path logged, so the embedded demo works.
 */
export function createMailer(opts: { smtpUrl: string | undefined; from: string; dataDir: string; log: (msg: string, fields: object) => void }): Mailer {
  if (opts.smtpUrl) {
    const transport = nodemailer.createTransport(opts.smtpUrl);
    return {
      kind: 'smtp',
      async send(mail) {
        try {
          await transport.sendMail({ from: opts.from, ...mail });
        } catch (error) {
          throw new Error(`Could not send mail through ${maskUrl(opts.smtpUrl!)}: ${(error as Error).message}`, { cause: error });
        }
        return {};
      },
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const dir = path.join(opts.dataDir, 'mail');
  return {
    kind: 'file',
    async send(mail) {
      const info = (await transport.sendMail({ from: opts.from, ...mail })) as { message: Buffer };
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.to.replace(/[^a-z0-9@.-]/gi, '_')}.eml`);
      await fs.writeFile(file, info.message, { mode: 0o600 });
      opts.log('mail written to file (no SMTP_URL set)', { file, to: mail.to, subject: mail.subject });
      return { file };
    },
  };
}
