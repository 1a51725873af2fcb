export type { Mailer, MailMessage, SentMail } from './mailer.ts';
export { MailSendError } from './mail-send.error.ts';
export { createMailer } from './create-mailer.ts';
export { renderMail, type MailContent, type RenderedMail } from './render-mail.ts';
