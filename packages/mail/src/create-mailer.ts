import path from 'node:path';
import { createFileMailer } from './file-mailer.ts';
import type { Mailer } from './mailer.ts';
import { createSmtpMailer } from './smtp-mailer.ts';

/**
 * The mailer the settings ask for: SMTP when SMTP_URL is set, otherwise files under
 * `<dataDir>/mail` (the embedded demo).
 */
export function createMailer(opts: { smtpUrl: string | undefined; from: string; dataDir: string; log?: (message: string, fields: Record<string, unknown>) => void }): Mailer {
  if (opts.smtpUrl) return createSmtpMailer({ url: opts.smtpUrl, from: opts.from });
  return createFileMailer({ dir: path.join(opts.dataDir, 'mail'), from: opts.from, ...(opts.log ? { log: opts.log } : {}) });
}
