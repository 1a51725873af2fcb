import { RoseError } from '@rose/core';

/**
 * A message the transport could not send. `permanent` when the server refused it for good
 * (an SMTP 5xx: no such mailbox, sender not allowed): sending it again will not help.
 */
export class MailSendError extends RoseError {
  readonly transport: 'smtp' | 'file';
  /** Where it was going: the SMTP URL with its password masked, or the mail folder. */
  readonly destination: string;
  readonly permanent: boolean;
  /** The SMTP reply code, when the server answered (550, 535, …). */
  readonly responseCode: number | undefined;

  constructor(opts: { transport: 'smtp' | 'file'; destination: string; message: string; hint: string; permanent: boolean; responseCode?: number | undefined; cause?: unknown }) {
    super({ code: `mail-${opts.transport}`, title: 'Mail not sent', message: opts.message, hint: opts.hint, cause: opts.cause });
    this.name = 'MailSendError';
    this.transport = opts.transport;
    this.destination = opts.destination;
    this.permanent = opts.permanent;
    this.responseCode = opts.responseCode;
  }
}
