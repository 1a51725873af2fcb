import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { createLinks, systemClock, type Clock } from '@rose/core';
import type { Database } from '@rose/db';
import { defineJob, enqueue, handle, type BatchHandler } from '@rose/jobs';
import { issueEmailToken } from './email-tokens.ts';
import type { Mail, Mailer } from './mailer.ts';


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

/** Writes the mails one account-mail job stands for; empty when there is nobody to tell. */
export async function composeAccountMail(deps: AccountMailDeps, job: AccountMailJob): Promise<Mail[]> {
  const clock = deps.clock ?? systemClock;
  const site = await deps.siteName();
  const links = createLinks({ siteUrl: deps.siteUrl });
  const userById = (id: string) => deps.db.selectFrom('users').select(['id', 'email', 'display_name', 'email_verified_at']).where('id', '=', id).executeTakeFirst();
  switch (job.kind) {
    case 'verify-email': {
      const user = await userById(job.userId);
      if (!user) return [];
      const token = await issueEmailToken(deps.db, clock, { userId: user.id, kind: 'verify-email', ttlMs: VERIFY_TTL_MS });
      return [
        {
          to: user.email,
          subject: `Confirm your email address for ${site}`,
          text: `Welcome to ${site}, ${user.display_name}!\n\nConfirm your address by opening this link within 24 hours:\n${links.auth.url.verify(token)}\n\nIf you did not sign up, ignore this message.\n`,
        },
      ];
    }
    case 'signup-existing': {
      const user = await userById(job.userId);
      if (!user) return [];
      return [
        {
          to: user.email,
          subject: `Someone tried to sign up at ${site} with your address`,
          text: user.email_verified_at
            ? `Hello from ${site}.\n\nSomeone (perhaps you) tried to create a new account with this email address, which already has one. Nothing was changed.\n\nIf it was you, sign in instead: ${links.auth.url.login()}\nForgotten your password? Choose a new one: ${links.auth.url.reset()}\nIf it was not you, you can ignore this message.\n`
            : `Hello from ${site}.\n\nSomeone (perhaps you) tried to create a new account with this email address, which already has one whose address was never confirmed. Nothing was changed.\n\nIf it was you, choose a password here; opening the link it sends also confirms your address: ${links.auth.url.reset()}\nIf it was not you, you can ignore this message.\n`,
        },
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
      return [
        {
          to: user.email,
          subject: `Reset your password at ${site}`,
          text: `Hello from ${site}.\n\nSomeone (hopefully you) asked to reset the password of your account.\n\nChoose a new password within the hour:\n${links.auth.url.resetConfirm(token)}\n\nIf it was not you, ignore this message; your password stays as it is.\n`,
        },
      ];
    }
    case 'change-email': {
      const user = await userById(job.userId);
      if (!user) return [];
      const taken = await deps.db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb(eb.fn('lower', ['email']), '=', job.newEmail.trim().toLowerCase()))
        .executeTakeFirst();
      if (taken) {
        // Do not reveal other accounts: the owner of that address hears about it instead.
        return [
          {
            to: job.newEmail,
            subject: `An account at ${site} tried to move to your address`,
            text: `Hello from ${site}.\n\nSomeone asked to move an account to this address, which already has an account. Nothing was changed.\n`,
          },
        ];
      }
      const token = await issueEmailToken(deps.db, clock, { userId: user.id, kind: 'change-email', ttlMs: VERIFY_TTL_MS, newEmail: job.newEmail });
      return [
        {
          to: job.newEmail,
          subject: `Confirm your new email address for ${site}`,
          text: `Hello from ${site}.\n\nOpen this link within 24 hours to use this address for your account:\n${links.auth.url.emailChange(token)}\n`,
        },
        {
          to: user.email,
          subject: `Your email address at ${site} is about to change`,
          text: `Hello from ${site}.\n\nSomeone signed in to your account asked to change its address to ${job.newEmail}. It changes only when the link sent there is opened.\nIf this was not you, change your password now: ${links.auth.url.reset()}\n`,
        },
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
