import { randomUUID } from 'node:crypto';

/** One message to one person. */
export interface MailMessage {
  /** A single address, `ann@example.org`. */
  readonly to: string;
  readonly subject: string;
  /** The plain-text body: every mail has one. */
  readonly text: string;
  /** The same content as HTML, sent as an alternative to the text. */
  readonly html?: string;
  /** Extra headers: `Auto-Submitted`, `List-Unsubscribe`, `X-…`. Not the ones the mailer sets. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SentMail {
  /** The Message-ID header sent, `<uuid@sender-domain>`. */
  readonly messageId: string;
  /** The file mailer: the `.eml` it wrote. */
  readonly file?: string;
}

/** The port every part sends mail through; see smtp-mailer.ts and file-mailer.ts. */
export interface Mailer {
  readonly kind: 'smtp' | 'file';
  /**
   * Sends one message, or throws: a RangeError for a message that could smuggle headers or
   * recipients (a bug in the caller), a MailSendError when the transport failed.
   */
  send(message: MailMessage): Promise<SentMail>;
}

const controlCharacters = /[\u0000-\u001f\u007f]/;
// One plain address: no display name, no list, nothing a header parser could split.
const plainAddress = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/;
const headerName = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// Headers that decide who gets the mail, who it is from, or how it is built: the mailer's own.
const reservedHeaders = new Set(['to', 'cc', 'bcc', 'from', 'sender', 'reply-to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding', 'return-path']);

/**
 * Refuses a message whose recipient, subject or headers could add recipients or headers
 * (CR/LF, lists, display names) before anything is sent. Both implementations call it.
 */
export function checkMailMessage(message: MailMessage): void {
  if (!plainAddress.test(message.to) || controlCharacters.test(message.to) || message.to.length > 254) {
    throw new RangeError(`Mail "to" must be one plain address like ann@example.org, got ${JSON.stringify(message.to.slice(0, 80))}`);
  }
  if (controlCharacters.test(message.subject)) throw new RangeError('Mail subject must be one line: it contains a line break or control character');
  if (message.subject.trim() === '') throw new RangeError('Mail subject is empty');
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!headerName.test(name)) throw new RangeError(`Mail header name ${JSON.stringify(name.slice(0, 40))} is not a header name (letters, digits and "-")`);
    if (reservedHeaders.has(name.toLowerCase()) || name.toLowerCase().startsWith('content-')) {
      throw new RangeError(`Mail header ${name} is set by the mailer from the message itself; pass it as a field, not a header`);
    }
    if (controlCharacters.test(value)) throw new RangeError(`Mail header ${name} must be one line: its value contains a line break or control character`);
  }
}

/** A Message-ID in the sender's domain, so replies and bounces thread with what we sent. */
export function newMessageId(from: string): string {
  const domain = /@([^\s>@]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
  return `<${randomUUID()}@${domain}>`;
}
