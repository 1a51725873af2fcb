import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { systemClock, type Clock } from '@rose/core';
import { MailSendError } from './mail-send.error.ts';
import { checkMailMessage, newMessageId, type Mailer } from './mailer.ts';

export interface FileMailerOptions {
  /** Where messages go: `<ROSE_DATA_DIR>/mail`. Created (0700) when missing. */
  readonly dir: string;
  /** MAIL_FROM. */
  readonly from: string;
  /** Names the files and dates the messages. */
  readonly clock?: Clock;
  /** Told where each message was written. */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/** What `<name>.json` holds beside each `<name>.eml`: the message as sent, for demos and tests. */
export interface WrittenMail {
  readonly messageId: string;
  readonly date: string;
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Writes each message to `<dir>/<time>-<to>.eml` (the exact MIME message SMTP would carry,
 * built by nodemailer) and `<time>-<to>.json` (its fields), readable by the owner only: the
 * embedded demo and tests need no mail server. A file appears whole or not at all.
 *
 * @example
 * const mailer = createFileMailer({ dir: path.join(config.dataDir, 'mail'), from: config.mail.from });
 */
export function createFileMailer(opts: FileMailerOptions): Mailer {
  const clock = opts.clock ?? systemClock;
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  return {
    kind: 'file',
    async send(message) {
      checkMailMessage(message);
      const date = clock.now();
      const messageId = newMessageId(opts.from);
      let raw: Buffer;
      try {
        const info = (await composer.sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
          ...(message.headers ? { headers: { ...message.headers } } : {}),
          messageId,
          date,
        })) as { message: Buffer };
        raw = info.message;
      } catch (error) {
        throw new MailSendError({ transport: 'file', destination: opts.dir, message: `Could not build the message: ${(error as Error).message}`, hint: 'This is a bug in Rose Ash; please report it.', permanent: true, cause: error });
      }
      const written: WrittenMail = {
        messageId,
        date: date.toISOString(),
        from: opts.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: { ...message.headers },
      };
      let file: string;
      try {
        await fs.mkdir(opts.dir, { recursive: true, mode: 0o700 });
        file = await writeExclusive(opts.dir, `${date.toISOString().replace(/[:.]/g, '-')}`, `-${message.to.replace(/[^a-z0-9@.+-]/gi, '_')}`, raw, `${JSON.stringify(written, null, 2)}\n`);
      } catch (error) {
        throw new MailSendError({
          transport: 'file',
          destination: opts.dir,
          message: `Could not write mail to ${opts.dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          hint: 'Check that ROSE_DATA_DIR is writable and the disk is not full, or set SMTP_URL to send mail for real.',
          permanent: false,
          cause: error,
        });
      }
      opts.log?.('mail written to file (no SMTP_URL set)', { file, to: message.to, subject: message.subject });
      return { messageId, file };
    },
  };
}

/**
 * Writes `<stamp><suffix>.json` then `<stamp><suffix>.eml` under a name no other message has
 * (`<stamp>-2<suffix>` and so on when two arrive in the same millisecond): each is written to a
 * temporary file and hard-linked into place, which fails instead of overwriting.
 */
async function writeExclusive(dir: string, stamp: string, suffix: string, eml: Buffer, json: string): Promise<string> {
  for (let n = 1; ; n++) {
    const base = path.join(dir, `${stamp}${n === 1 ? '' : `-${n}`}${suffix}`);
    // The .eml is what readers look for, so it is linked last: its .json is there by then.
    if (!(await linkInto(`${base}.json`, json))) continue;
    if (!(await linkInto(`${base}.eml`, eml))) {
      await fs.rm(`${base}.json`, { force: true });
      continue;
    }
    return `${base}.eml`;
  }
}

async function linkInto(target: string, content: string | Buffer): Promise<boolean> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  await fs.writeFile(tmp, content, { mode: 0o600 });
  try {
    await fs.link(tmp, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
