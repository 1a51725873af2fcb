import nodemailer from 'nodemailer';
import { maskUrl } from '@rose/core';
import { MailSendError } from './mail-send.error.ts';
import { checkMailMessage, newMessageId, type Mailer } from './mailer.ts';

export interface SmtpMailerOptions {
  /** SMTP_URL: `smtps://user:pass@mail.example.org:465` (TLS) or `smtp://…:587` (STARTTLS when offered). */
  readonly url: string;
  /** MAIL_FROM: `Rose Ash <no-reply@coop.example>`. */
  readonly from: string;
  /** Connecting (DNS included). Default 10 000. */
  readonly connectionTimeoutMs?: number;
  /** Waiting for the server's greeting. Default 10 000. */
  readonly greetingTimeoutMs?: number;
  /** Silence in the middle of a conversation. Default 30 000. */
  readonly socketTimeoutMs?: number;
}

// nodemailer's codes for a server that could not be reached or talked to.
const unreachableCodes = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET']);

/**
 * Sends mail over SMTP with nodemailer, one connection per message. Timeouts are short
 * (nodemailer waits up to 2 minutes to connect by default): a mail job should fail and be
 * retried by the outbox rather than hold a worker.
 *
 * @example
 * const mailer = createSmtpMailer({ url: config.mail.smtpUrl, from: config.mail.from });
 * await mailer.send({ to: 'ann@example.org', subject: 'Hello', text: 'Hi Ann' });
 */
export function createSmtpMailer(opts: SmtpMailerOptions): Mailer {
  const server = maskUrl(opts.url);
  const transport = nodemailer.createTransport({
    url: opts.url,
    connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
    greetingTimeout: opts.greetingTimeoutMs ?? 10_000,
    socketTimeout: opts.socketTimeoutMs ?? 30_000,
  });
  const password = passwordOf(opts.url);
  const hide = (text: string) => (password ? text.split(password).join('****') : text);

  return {
    kind: 'smtp',
    async send(message) {
      checkMailMessage(message);
      const messageId = newMessageId(opts.from);
      try {
        await transport.sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
          ...(message.headers ? { headers: { ...message.headers } } : {}),
          messageId,
        });
      } catch (error) {
        throw describeFailure(error, server, hide);
      }
      return { messageId };
    },
  };
}

function describeFailure(error: unknown, server: string, hide: (text: string) => string): MailSendError {
  const e = error as { code?: unknown; responseCode?: unknown; response?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const said = hide(typeof e.response === 'string' && e.response.trim() ? e.response.trim() : typeof e.message === 'string' ? e.message : String(error));
  const permanent = responseCode !== undefined && responseCode >= 500 && responseCode < 600;
  const fail = (message: string, hint: string) => new MailSendError({ transport: 'smtp', destination: server, message, hint, permanent, responseCode, cause: error });

  if (code === 'EAUTH') {
    return fail(`The SMTP server at ${server} refused the user name or password: ${said}`, 'Check the user and password in SMTP_URL (percent-encode special characters in them).');
  }
  if (code === 'ETLS') {
    return fail(`Could not start TLS with the SMTP server at ${server}: ${said}`, 'Use smtps:// for port 465 and smtp:// for ports 587 and 25 in SMTP_URL.');
  }
  if (code !== undefined && unreachableCodes.has(code)) {
    return fail(
      `Could not reach the SMTP server at ${server}: ${said}`,
      'Check the host and port in SMTP_URL and that the server accepts connections from this machine; the mail is retried later.',
    );
  }
  if (code === 'EENVELOPE') {
    return fail(
      `The SMTP server at ${server} refused the sender or the recipient: ${said}`,
      permanent ? 'Check that MAIL_FROM is an address this server may send from; a refused recipient may not exist.' : 'The server refused for now; the mail is retried later.',
    );
  }
  return fail(
    `The SMTP server at ${server} did not take the message: ${said}`,
    permanent ? 'The server refused this message for good; its reply above says why.' : 'The mail is retried later; if this repeats, check the server\'s logs.',
  );
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
