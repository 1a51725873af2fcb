import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { createLinks, systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { defineJob, enqueue, handle, type BatchHandler } from '@rose/jobs';
import type { Mailer, MailMessage } from '@rose/mail';
import { accountMailTemplates, type AccountMailContent } from './account-mail.templates.ts';
import { issueEmailToken } from './email-tokens.ts';


export const VERIFY_TTL_MS = 24 * 3600 * 1000;
export const RESET_TTL_MS = 3600 * 1000;

// What happened, not the message: the worker writes the mail (and issues any link token)
// when it sends, so no live token ever sits in the jobs table.
const accountMailPayload = z.discriminatedUnion('kind', [
  /** A new account: a link to confirm the address. */
  z.object({ kind: z.literal('verify-email'), userId: z.string() }),
  /** Someone signed up with an address that already has an account: tell its owner. */
  z.object({ kind: z.literal('signup-existing'), userId: z.string() }),
  /** A reset was asked for this address; nothing is sent when it has no account. */
  z.object({ kind: z.literal('reset-password'), email: z.string() }),
  /** A signed-in member asked to move to `newEmail`. */
  z.object({ kind: z.literal('change-email'), userId: z.string(), newEmail: z.string() }),
]);
export type AccountMailJob = z.infer<typeof accountMailPayload>;

/** The outbox job of every account mail. */
export const accountMailJob = defineJob('account.mail', accountMailPayload);
export const accountMailJobType = accountMailJob.type;

/** Queues an account mail in the outbox, inside the caller's transaction. */
export async function enqueueAccountMail(db: Kysely<Database> | Transaction<Database>, job: AccountMailJob): Promise<void> {
  await enqueue(db, accountMailJob, job);
}

export interface AccountMailDeps {
  db: Kysely<Database>;
  mailer: Mailer;
  siteUrl: string;
  /** The site's name as its readers know it (the site settings' title). */
  siteName: () => Promise<string>;
  clock?: Clock;
}

/** Marks account mail as sent by a program (RFC 3834), so out-of-office replies leave it alone. */
const automatic = { 'Auto-Submitted': 'auto-generated' } as const;

/** Writes the mails one account-mail job stands for; empty when there is nobody to tell. */
export async function composeAccountMail(deps: AccountMailDeps, job: AccountMailJob): Promise<MailMessage[]> {
  const clock = deps.clock ?? systemClock;
  const site = await deps.siteName();
  const links = createLinks({ siteUrl: deps.siteUrl });
  const mail = (to: string, content: AccountMailContent): MailMessage => ({ to, ...content, headers: automatic });
  const userById = (id: string) => deps.db.selectFrom('users').select(['id', 'email', 'display_name', 'email_verified_at']).where('id', '=', id).executeTakeFirst();
  switch (job.kind) {
    case 'verify-email': {
      const user = await userById(job.userId);
      if (!user) return [];
      const token = await issueEmailToken(deps.db, clock, { userId: user.id, kind: 'verify-email', ttlMs: VERIFY_TTL_MS });
      return [mail(user.email, accountMailTemplates.verifyEmail({ site, name: user.display_name, url: links.auth.url.verify(token) }))];
    }
    case 'signup-existing': {
      const user = await userById(job.userId);
      if (!user) return [];
      return [
        mail(
          user.email,
          user.email_verified_at
            ? accountMailTemplates.signupExisting({ site, loginUrl: links.auth.url.login(), resetUrl: links.auth.url.reset() })
            : accountMailTemplates.signupUnconfirmed({ site, resetUrl: links.auth.url.reset() }),
        ),
      ];
    }
    case 'reset-password': {
      const user = await deps.db
        .selectFrom('users')
        .select(['id', 'email'])
        .where((eb) => eb(eb.fn('lower', ['email']), '=', job.email.trim().toLowerCase()))
        .executeTakeFirst();
      if (!user) return [];
      const token = await issueEmailToken(deps.db, clock, { userId: user.id, kind: 'reset-password', ttlMs: RESET_TTL_MS });
      return [mail(user.email, accountMailTemplates.resetPassword({ site, url: links.auth.url.resetConfirm(token) }))];
    }
    case 'change-email': {
      const user = await userById(job.userId);
      if (!user) return [];
      const taken = await deps.db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb(eb.fn('lower', ['email']), '=', job.newEmail.trim().toLowerCase()))
        .executeTakeFirst();
      // Do not reveal other accounts: the owner of that address hears about it instead.
      if (taken) return [mail(job.newEmail, accountMailTemplates.changeEmailTaken({ site }))];
      const token = await issueEmailToken(deps.db, clock, { userId: user.id, kind: 'change-email', ttlMs: VERIFY_TTL_MS, newEmail: job.newEmail });
      return [
        mail(job.newEmail, accountMailTemplates.changeEmailConfirm({ site, url: links.auth.url.emailChange(token) })),
        mail(user.email, accountMailTemplates.changeEmailNotice({ site, newEmail: job.newEmail, resetUrl: links.auth.url.reset() })),
      ];
    }
  }
}

/**
 * The outbox handler of account mail, to register with a worker: each job is independent, so
 * one that cannot be sent (SMTP down) is retried alone.
 */
export function createAccountMailHandlers(deps: AccountMailDeps): Record<string, BatchHandler> {
  return handle(accountMailJob, async (payloads, jobs) => {
    const failed: { id: number; error: unknown }[] = [];
    for (const [i, payload] of payloads.entries()) {
      try {
        for (const mail of await composeAccountMail(deps, payload)) await deps.mailer.send(mail);
      } catch (error) {
        failed.push({ id: jobs[i]!.id, error });
      }
    }
    return { failed };
  });
}
