import { renderMail } from '@rose/mail';

/** A mail's words: its subject and its body as text and as HTML. */
export interface AccountMailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * The words of every account mail, one function each. `site` is the site's name as its readers
 * know it (the site settings' title); links come in whole, already pointing at this site.
 */
export const accountMailTemplates = {
  /** A new account: confirm the address. */
  verifyEmail: (p: { site: string; name: string; url: string }): AccountMailContent => ({
    subject: `Confirm your email address for ${p.site}`,
    ...renderMail({
      siteName: p.site,
      greeting: `Welcome to ${p.site}, ${p.name}!`,
      paragraphs: ['Confirm your address by opening this link within 24 hours.'],
      action: { label: 'Confirm your address', url: p.url },
      closing: ['If you did not sign up, ignore this message.'],
    }),
  }),

  /** Someone signed up with an address that already has a confirmed account. */
  signupExisting: (p: { site: string; loginUrl: string; resetUrl: string }): AccountMailContent => ({
    subject: `Someone tried to sign up at ${p.site} with your address`,
    ...renderMail({
      siteName: p.site,
      greeting: `Hello from ${p.site}.`,
      paragraphs: ['Someone (perhaps you) tried to create a new account with this email address, which already has one. Nothing was changed.'],
      action: { label: 'Sign in instead', url: p.loginUrl },
      closing: [`Forgotten your password? Choose a new one: ${p.resetUrl}`, 'If it was not you, you can ignore this message.'],
    }),
  }),

  /** Someone signed up with an address whose account was never confirmed. */
  signupUnconfirmed: (p: { site: string; resetUrl: string }): AccountMailContent => ({
    subject: `Someone tried to sign up at ${p.site} with your address`,
    ...renderMail({
      siteName: p.site,
      greeting: `Hello from ${p.site}.`,
      paragraphs: [
        'Someone (perhaps you) tried to create a new account with this email address, which already has one whose address was never confirmed. Nothing was changed.',
        'If it was you, choose a password; opening the link that sends also confirms your address.',
      ],
      action: { label: 'Choose a password', url: p.resetUrl },
      closing: ['If it was not you, you can ignore this message.'],
    }),
  }),

  /** A password reset was asked for. */
  resetPassword: (p: { site: string; url: string }): AccountMailContent => ({
    subject: `Reset your password at ${p.site}`,
    ...renderMail({
      siteName: p.site,
      greeting: `Hello from ${p.site}.`,
      paragraphs: ['Someone (hopefully you) asked to reset the password of your account. Choose a new password within the hour.'],
      action: { label: 'Choose a new password', url: p.url },
      closing: ['If it was not you, ignore this message; your password stays as it is.'],
    }),
  }),

  /** To the new address of an email change: confirm it. */
  changeEmailConfirm: (p: { site: string; url: string }): AccountMailContent => ({
    subject: `Confirm your new email address for ${p.site}`,
    ...renderMail({
      siteName: p.site,
      greeting: `Hello from ${p.site}.`,
      paragraphs: ['Open this link within 24 hours to use this address for your account.'],
      action: { label: 'Use this address', url: p.url },
      closing: ['If you did not ask for this, ignore this message; nothing changes.'],
    }),
  }),

  /** To the old address of an email change: it is about to change. */
  changeEmailNotice: (p: { site: string; newEmail: string; resetUrl: string }): AccountMailContent => ({
    subject: `Your email address at ${p.site} is about to change`,
    ...renderMail({
      siteName: p.site,
      greeting: `Hello from ${p.site}.`,
      paragraphs: [`Someone signed in to your account asked to change its address to ${p.newEmail}. It changes only when the link sent there is opened.`],
      closing: [`If this was not you, change your password now: ${p.resetUrl}`],
    }),
  }),

  /** To an address that already has an account, when another account asked to move to it. */
  changeEmailTaken: (p: { site: string }): AccountMailContent => ({
    subject: `An account at ${p.site} tried to move to your address`,
    ...renderMail({
      siteName: p.site,
      greeting: `Hello from ${p.site}.`,
      paragraphs: ['Someone asked to move an account to this address, which already has an account. Nothing was changed.'],
    }),
  }),
};
