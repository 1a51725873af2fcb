import os from 'node:os';
import type { Services } from '@rose/app';
import { assertNever, RoseError } from '@rose/core';
import { partActors, type PartActor } from '@rose/federation';
import type { CommandContext } from '../context.ts';

// `rose social …`: staff's view of the co-op on ActivityPub. Each command parses, calls one
// verb of `services.federation.social`, and prints; the verbs live in @rose/federation.

type Social = Services['federation']['social'];

/** Who did it, for the record of a block: the OS user running the command. */
function who(): string {
  let name = 'unknown';
  try {
    name = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): the record still says it was the CLI.
  }
  return `cli:${name}`;
}

const deliveryNote = 'Queued for delivery to its followers; the running server (`rose serve`) or `rose worker` delivers it.';

/** `2026-12-02T10:00:00Z`: to the second, which is what a person reading a list needs. */
const time = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Rows as aligned columns, the first row a header; the last column is left ragged. */
export function formatTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * One of our actors as a person types it — `blog`, `@blog` or `@blog@coop.example.org` —
 * as its handle; undefined when it names another server's account.
 */
export function localHandle(given: string, host: string): string | undefined {
  const m = /^@?([^@\s]+)(?:@([^@\s]+))?$/.exec(given.trim());
  if (!m) return undefined;
  if (m[2] && m[2].toLowerCase() !== host.toLowerCase()) return undefined;
  return m[1]!.toLowerCase();
}

const siteHost = (ctx: CommandContext) => new URL(ctx.config.siteUrl).host;

/**
 * The services with the federation set up: its first use makes the parts' actors and their
 * keys when they are missing, so every command sees blog, market and events.
 */
async function openSocial(services: Services): Promise<Social> {
  await services.migrations.assertCurrent();
  await services.federation.federation();
  return services.federation.social;
}

/** Our actor named `given`, or an error that lists the ones there are. */
async function requireActor(ctx: CommandContext, social: Social, given: string, commandHint: string): Promise<string> {
  const handle = localHandle(given, siteHost(ctx));
  if (handle && (await social.actor(handle))) return handle;
  const actors = await social.actors();
  throw new RoseError({
    code: 'not-found',
    title: 'No such actor',
    message: `"${given}" is not one of our actors. Ours are: ${actors.map((a) => social.address(a.handle)).join(', ')}.`,
    hint: `Name one by its handle, e.g. \`${commandHint.replace('ACTOR', actors[0]?.handle ?? 'blog')}\`; \`rose social actors\` lists them.`,
  });
}

/** `rose social actors`: our actors with their addresses. */
export async function socialActors(ctx: CommandContext, opts: { json?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const actors = await social.actors();
    const rows = await Promise.all(actors.map(async (a) => ({ handle: a.handle, address: social.address(a.handle), uri: await social.actorUri(a.handle), kind: a.kind, type: a.type, name: a.displayName })));
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    for (const line of formatTable([['HANDLE', 'ADDRESS', 'KIND', 'TYPE', 'NAME'], ...rows.map((r) => [r.handle, r.address, r.kind, r.type, r.name])])) ctx.out.info(line);
    ctx.out.info(`${rows.length} actor(s). Other servers find them by address (WebFinger) at ${ctx.config.siteUrl}.`);
  });
}

/** `rose social post --as <part> TEXT`: a public Note from a part's actor. */
export async function socialPost(ctx: CommandContext, text: string, opts: { as: string }): Promise<void> {
  const part = localHandle(opts.as, siteHost(ctx));
  if (!part || !(partActors as readonly string[]).includes(part)) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Unknown actor',
      message: `--as "${opts.as}" is not a part. Posts from the CLI speak as one of the parts: ${partActors.join(', ')}.`,
      hint: `e.g. \`rose social post --as ${partActors[0]} "…"\`. Members post from their own profile on the site.`,
    });
  }
  if (text.trim() === '') {
    throw new RoseError({ code: 'bad-argument', title: 'Empty post', message: 'The post has no text.', hint: `Give it as the last argument, quoted: \`rose social post --as ${part} "Our spring market opens on Saturday."\`` });
  }
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const result = await social.postAsPart(part as PartActor, text);
    if (result.ok) {
      ctx.out.info(`Posted as ${social.address(part)}: ${result.value.uri}`);
      ctx.out.info(deliveryNote);
      return;
    }
    const e = result.error;
    switch (e.type) {
      case 'no-profile':
        throw new RoseError({ code: 'not-found', title: 'No such actor', message: `The ${part} actor does not exist in this database.`, hint: 'Run `rose db migrate`, then `rose social actors` (it makes the parts’ actors).' });
      case 'empty':
        throw new RoseError({ code: 'bad-argument', title: 'Empty post', message: e.message, hint: 'Nothing was posted.' });
      case 'too-long':
        throw new RoseError({ code: 'bad-argument', title: 'Post too long', message: e.message, hint: 'Nothing was posted.' });
      case 'bad-reply':
        throw new RoseError({ code: 'bad-argument', title: 'Cannot reply', message: e.message, hint: 'Nothing was posted.' });
      default:
        assertNever(e);
    }
  });
}

/** `rose social inbox`: what other servers sent, newest first. */
export async function socialInbox(ctx: CommandContext, opts: { json?: boolean; all?: boolean; limit: number }): Promise<void> {
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const rows = (await social.inbox({ limit: opts.limit, acceptedOnly: !opts.all })).map((r) => ({
      id: r.id,
      activityId: r.activity_id,
      type: r.type,
      actor: r.actor_uri,
      object: r.object_uri,
      recipient: r.recipient,
      outcome: r.outcome,
      receivedAt: r.received_at,
    }));
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return ctx.out.info(opts.all ? 'Nothing received yet.' : 'No accepted activities yet (`--all` shows refused, ignored and duplicate deliveries too).');
    for (const line of formatTable([['RECEIVED', 'TYPE', 'ACTOR', 'OBJECT', 'OUTCOME'], ...rows.map((r) => [time(r.receivedAt), r.type, r.actor, r.object ?? '-', r.outcome])])) ctx.out.info(line);
  });
}

/** `rose social followers <actor>`: who follows one of our actors. */
export async function socialFollowers(ctx: CommandContext, actor: string, opts: { json?: boolean; pending?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const handle = await requireActor(ctx, social, actor, 'rose social followers ACTOR');
    const status = opts.pending ? 'pending' : 'accepted';
    const rows = (await social.followers(handle, { status, limit: 1000 })).map((f) => ({ uri: f.author.uri, handle: f.author.handle, name: f.author.name, status: f.status, since: f.since }));
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    const address = social.address(handle);
    if (rows.length === 0) return ctx.out.info(opts.pending ? `No follow requests are waiting for ${address}.` : `Nobody follows ${address} yet.`);
    for (const line of formatTable([['SINCE', 'HANDLE', 'NAME', 'URI'], ...rows.map((r) => [time(r.since), r.handle, r.name, r.uri])])) ctx.out.info(line);
    ctx.out.info(opts.pending ? `${rows.length} follow request(s) waiting for ${address}.` : `${rows.length === 1000 ? 'The first 1000' : rows.length} follower(s) of ${address}.`);
  });
}

/** `rose social block <account-or-domain>`: a block for the whole co-op. */
export async function socialBlock(ctx: CommandContext, target: string): Promise<void> {
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const before = await social.blocks();
    const result = await social.block(target, who(), null);
    // The one way a block fails ('invalid'): the target is neither an account nor a domain.
    if (!result.ok) {
      throw new RoseError({ code: 'bad-argument', title: 'Cannot block that', message: `"${target}": ${result.error.message}`, hint: 'e.g. `rose social block spam.example` (a whole server) or `rose social block @someone@spam.example` (one account). Nothing was changed.' });
    }
    const { kind, target: blocked } = result.value;
    const what = kind === 'domain' ? `the server ${blocked} (and its subdomains)` : `the account ${blocked}`;
    if (before.some((b) => b.actor === null && b.kind === kind && b.target === blocked)) {
      ctx.out.info(`${what[0]!.toUpperCase()}${what.slice(1)} was already blocked; nothing changed.`);
      return;
    }
    ctx.out.info(`Blocked ${what} for the whole co-op: their follows of our actors ended, their posts are hidden, and what they send from now on is ignored.`);
  });
}

/** `rose social unblock <account-or-domain>`: lifts a block of the whole co-op. */
export async function socialUnblock(ctx: CommandContext, target: string): Promise<void> {
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    if (!(await social.unblock(target, null))) {
      throw new RoseError({ code: 'not-found', title: 'Not blocked', message: `"${target}" is not blocked for the co-op.`, hint: '`rose social blocks` lists what is. Nothing was changed.' });
    }
    ctx.out.info(`Unblocked ${target}. Posts hidden by the block stay hidden until staff show them again (/social/moderation); they may follow our actors again.`);
  });
}

/** `rose social blocks`: the blocks, newest first. */
export async function socialBlocks(ctx: CommandContext, opts: { json?: boolean }): Promise<void> {
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const rows = await social.blocks();
    if (opts.json) return ctx.out.info(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return ctx.out.info('Nothing is blocked. Block a server with `rose social block spam.example`.');
    for (const line of formatTable([['SINCE', 'KIND', 'TARGET', 'FOR', 'BY'], ...rows.map((b) => [time(b.createdAt), b.kind, b.target, b.actor ? social.address(b.actor) : 'the co-op', b.createdBy])])) ctx.out.info(line);
  });
}

const rotateWhy = 'New key pairs make other servers fetch our actors again the next time a signature by a new key reaches them (a fetch each, nothing is lost); the old keys are kept, retired.';

/** `rose social keys rotate`: new key pairs for our actors, after a confirmation. */
export async function socialKeysRotate(ctx: CommandContext, opts: { actor?: string[]; yes?: boolean }): Promise<void> {
  if (!opts.yes && !ctx.out.ask) {
    throw new RoseError({ code: 'bad-argument', title: 'Confirmation needed', message: `Rotating gives ${opts.actor?.length ? opts.actor.join(', ') : 'every actor of ours'} new signing keys. ${rotateWhy}`, hint: 'Run it at a terminal to confirm, or pass --yes. Nothing was changed.' });
  }
  await ctx.withServices(async (services) => {
    const social = await openSocial(services);
    const handles = opts.actor?.length ? [...new Set(await Promise.all(opts.actor.map((a) => requireActor(ctx, social, a, 'rose social keys rotate --actor ACTOR'))))] : (await social.actors()).map((a) => a.handle);
    if (!opts.yes) {
      ctx.out.info(`Rotating gives ${handles.map((h) => social.address(h)).join(', ')} new signing keys. ${rotateWhy}`);
      const answer = await ctx.out.ask!('Type "yes" to go ahead: ');
      if (answer.trim().toLowerCase() !== 'yes') throw new RoseError({ code: 'bad-argument', title: 'Stopped', message: 'No keys were rotated.' });
    }
    const rotated = await social.rotateKeys(handles);
    const byActor = new Map<string, string[]>();
    for (const r of rotated) byActor.set(r.actor, [...(byActor.get(r.actor) ?? []), r.algorithm]);
    for (const [actor, algorithms] of byActor) ctx.out.info(`  ${social.address(actor).padEnd(32)} ${algorithms.join(', ')}`);
    ctx.out.info(`Rotated the keys of ${byActor.size} actor(s); running servers sign with the new keys from the next delivery.`);
  });
}
