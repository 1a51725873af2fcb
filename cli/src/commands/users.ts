import { assertNever, linkPaths, RoseError } from '@rose/core';
import type { MemberTier, UserRole } from '@rose/db';
import type { CommandContext } from '../context.ts';

export const roles: UserRole[] = ['member', 'staff', 'admin'];

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'No password given',
      message: '--password-stdin reads the password from standard input, but this is a terminal.',
      hint: "Pipe it in, e.g. `printf '%s' \"$PASSWORD\" | npx rose users create --email ann@example.org --name Ann --password-stdin`.",
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function usersCreate(ctx: CommandContext, opts: { email: string; name: string; role: UserRole; passwordStdin?: boolean }): Promise<void> {
  if (!opts.passwordStdin) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'No password given',
      message: 'A password is needed and is never taken as a command-line argument (it would stay in shell history and process lists).',
      hint: 'Pass --password-stdin and pipe the password in.',
    });
  }
  const password = await readStdin();
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const result = await services.auth.accounts.createUser({ email: opts.email, displayName: opts.name, password, role: opts.role });
    if (result.ok) {
      ctx.out.info(`Created ${opts.role} ${opts.email} (email confirmed).`);
      return;
    }
    const e = result.error;
    switch (e.type) {
      case 'invalid-email':
        throw new RoseError({ code: 'bad-argument', title: 'Invalid email', message: `"${opts.email}" is not an email address.` });
      case 'invalid-name':
        throw new RoseError({ code: 'bad-argument', title: 'Invalid name', message: 'The name must be 1 to 100 characters.' });
      case 'weak-password':
        throw new RoseError({ code: 'bad-argument', title: 'Weak password', message: e.message });
      case 'email-taken':
        throw new RoseError({ code: 'conflict', title: 'Email taken', message: `${opts.email} already has an account.`, hint: 'Use `rose users set-role` to change its role.' });
      default:
        assertNever(e);
    }
  });
}

export async function usersList(ctx: CommandContext): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const users = await services.auth.accounts.list();
    if (users.length === 0) {
      ctx.out.info('No accounts yet.');
      return;
    }
    const paid = await services.blog.paidMembers();
    for (const u of users) ctx.out.info(`  ${u.email.padEnd(32)} ${u.role.padEnd(7)} ${paid.has(u.id) ? 'paid' : 'free'} ${u.verified ? 'confirmed  ' : 'unconfirmed'} ${u.displayName}`);
    ctx.out.info(`${users.length} account(s).`);
  });
}

/** `rose users set-tier`: staff mark a member as paying (or not); `paid` posts are for paying members. */
export async function usersSetTier(ctx: CommandContext, opts: { email: string; tier: MemberTier }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const result = await services.blog.setMemberTier(opts.email, opts.tier);
    if (!result.ok) throw new RoseError({ code: 'not-found', title: 'No such account', message: `There is no account for ${opts.email}.`, hint: `See \`rose users list\`; members sign up at ${linkPaths.auth.signup()} or staff add them with \`rose users create\`.` });
    const { previous } = result.value;
    ctx.out.info(previous === opts.tier ? `${opts.email} was already a ${opts.tier} member; nothing changed.` : `${opts.email} is now a ${opts.tier} member (was ${previous}).`);
  });
}

export async function usersSetRole(ctx: CommandContext, opts: { email: string; role: UserRole }): Promise<void> {
  await ctx.withServices(async (services) => {
    await services.migrations.assertCurrent();
    const result = await services.auth.accounts.setRole(opts.email, opts.role);
    if (result.ok) {
      ctx.out.info(`${opts.email} is now ${opts.role}.`);
      return;
    }
    const e = result.error;
    switch (e.type) {
      case 'not-found':
        throw new RoseError({ code: 'not-found', title: 'No such account', message: `There is no account for ${opts.email}.`, hint: 'See `rose users list`.' });
      case 'last-admin':
        throw new RoseError({
          code: 'conflict',
          title: 'Last admin',
          message: `${opts.email} is the only admin; the co-op would have nobody left to manage it. Nothing was changed.`,
          hint: 'Make another account admin first: `rose users set-role --email OTHER --role admin`.',
        });
      default:
        assertNever(e);
    }
  });
}
