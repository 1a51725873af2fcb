import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, makeProjectTempDir, type TestDatabase } from '@rose/testing';
import { createContext } from '../context.ts';
import { createMemoryOutput } from '../memory-output.ts';
import { formatTable, localHandle, socialActors, socialBlock, socialBlocks, socialFollowers, socialInbox, socialKeysRotate, socialPost, socialUnblock } from './social.ts';

describe('rose social helpers', () => {
  it('reads our actor from what a person types, and nobody else’s', () => {
    expect(localHandle('blog', 'coop.example.org')).toBe('blog');
    expect(localHandle(' @Blog ', 'coop.example.org')).toBe('blog');
    expect(localHandle('@blog@coop.example.org', 'coop.example.org')).toBe('blog');
    expect(localHandle('blog@COOP.example.org', 'coop.example.org')).toBe('blog');
    expect(localHandle('@blog@other.example', 'coop.example.org')).toBeUndefined();
    expect(localHandle('two words', 'coop.example.org')).toBeUndefined();
  });

  it('aligns columns and leaves the last one ragged', () => {
    expect(formatTable([['A', 'BB', 'C'], ['long', 'x', 'tail text'], ['', '', '']])).toEqual(['A     BB  C', 'long  x   tail text', '']);
  });
});

// The commands in-process against a fresh Postgres database; test/social-cli.e2e.test.ts runs
// the real binary.
describe('rose social (in-process, Postgres)', () => {
  let t: TestDatabase;
  let tmp: string;
  const site = 'https://coop.example.org';
  const context = (answers?: string[]) => {
    const out = createMemoryOutput(answers ? { answers } : {});
    return { out, ctx: createContext(out, { DATABASE_URL: t.url, ROSE_DATA_DIR: path.join(tmp, 'data'), ROSE_SITE_URL: site, ROSE_LOG_LEVEL: 'silent' }) };
  };
  const activeKeys = async () => (await t.db.selectFrom('ap_keys').select(['id', 'actor']).where('retired_at', 'is', null).orderBy('id').execute()).map((k) => `${k.actor}:${k.id}`);

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    tmp = await makeProjectTempDir('social-cli');
    // Any social command makes the parts' actors and their keys; every test starts with them.
    await socialActors(context().ctx, {});
  });
  afterAll(async () => {
    await t?.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('lists the parts’ actors with their addresses', async () => {
    const { out, ctx } = context();
    await socialActors(ctx, {});
    for (const part of ['blog', 'market', 'events']) expect(out.text()).toMatch(new RegExp(`^${part}\\s+@${part}@coop\\.example\\.org\\s+part`, 'm'));
    expect(out.text()).toContain('3 actor(s).');
    const json = context();
    await socialActors(json.ctx, { json: true });
    const listed = JSON.parse(json.out.text()) as { handle: string; address: string; uri: string }[];
    expect(listed.map((a) => a.handle).sort()).toEqual(['blog', 'events', 'market']);
    expect(listed.find((a) => a.handle === 'blog')).toMatchObject({ address: '@blog@coop.example.org', uri: expect.stringMatching(/^https:\/\/coop\.example\.org\/.*blog/) });
  });

  it('posts a public Note as a part and queues its delivery', async () => {
    const sends = async () => (await t.db.selectFrom('jobs').select('id').where('type', '=', 'federation.send').execute()).length;
    const queued = await sends();
    const { out, ctx } = context();
    await socialPost(ctx, 'Hello from the **blog**', { as: '@blog' });
    const objects = await t.db.selectFrom('ap_objects').select(['id', 'actor', 'type', 'visibility', 'content_html']).where('actor', '=', 'blog').where('content_html', 'like', '%Hello from the%').execute();
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatchObject({ type: 'Note', visibility: 'public', content_html: expect.stringContaining('<strong>blog</strong>') });
    expect(out.lines[0]).toMatch(new RegExp(`^Posted as @blog@coop\\.example\\.org: ${site}/\\S*${objects[0]!.id}$`));
    expect(out.text()).toContain('`rose worker` delivers it');
    expect(await sends()).toBe(queued + 1);
  });

  it('refuses an unknown actor, an empty post and a post too long, posting nothing', async () => {
    const count = async () => Number((await t.db.selectFrom('ap_objects').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    await expect(socialPost(context().ctx, 'Hi', { as: 'shop' })).rejects.toMatchObject({
      title: 'Unknown actor',
      message: '--as "shop" is not a part. Posts from the CLI speak as one of the parts: blog, market, events.',
    });
    await expect(socialPost(context().ctx, '   ', { as: 'market' })).rejects.toMatchObject({ title: 'Empty post' });
    await expect(socialPost(context().ctx, 'x'.repeat(5001), { as: 'market' })).rejects.toMatchObject({ title: 'Post too long', message: expect.stringContaining('limit is 5000') });
    expect(await count()).toBe(before);
  });

  it('shows the inbox newest first, accepted only unless --all', async () => {
    const empty = context();
    await socialInbox(empty.ctx, { limit: 50 });
    expect(empty.out.text()).toContain('No accepted activities yet');
    const row = (n: number, outcome: string, at: string) => ({
      activity_id: `https://peer.example/activities/${n}`,
      type: 'Follow',
      actor_uri: `https://peer.example/users/p${n}`,
      object_uri: `${site}/ap/actors/blog`,
      recipient: 'blog',
      outcome,
      payload: JSON.stringify({}),
      received_at: new Date(at),
    });
    await t.db
      .insertInto('ap_inbox')
      .values([row(1, 'accepted', '2026-12-01T10:00:00Z'), row(2, 'ignored: blocked', '2026-12-01T11:00:00Z'), row(3, 'accepted: awaiting approval', '2026-12-01T12:00:00Z')])
      .execute();
    const accepted = context();
    await socialInbox(accepted.ctx, { limit: 50, json: true });
    expect((JSON.parse(accepted.out.text()) as { activityId: string; outcome: string }[]).map((r) => [r.activityId.slice(-1), r.outcome])).toEqual([
      ['3', 'accepted: awaiting approval'],
      ['1', 'accepted'],
    ]);
    const all = context();
    await socialInbox(all.ctx, { limit: 2, all: true });
    expect(all.out.lines).toHaveLength(3);
    expect(all.out.lines[0]).toMatch(/^RECEIVED\s+TYPE\s+ACTOR\s+OBJECT\s+OUTCOME$/);
    expect(all.out.lines[1]).toMatch(/^2026-12-01T12:00:00Z\s+Follow\s+https:\/\/peer\.example\/users\/p3\s+\S+\s+accepted: awaiting approval$/);
    expect(all.out.lines[2]).toContain('ignored: blocked');
  });

  it('lists followers (or pending requests) and names our actors when given another', async () => {
    await t.db
      .insertInto('ap_followers')
      .values([
        { actor: 'blog', follower_uri: 'https://peer.example/users/ann', follow_id: 'https://peer.example/follows/1', status: 'accepted' },
        { actor: 'blog', follower_uri: 'https://peer.example/users/cy', follow_id: 'https://peer.example/follows/2', status: 'accepted' },
        { actor: 'blog', follower_uri: 'https://peer.example/users/bob', follow_id: 'https://peer.example/follows/3', status: 'pending' },
      ])
      .execute();
    const accepted = context();
    await socialFollowers(accepted.ctx, '@blog@coop.example.org', {});
    expect(accepted.out.text()).toContain('https://peer.example/users/ann');
    expect(accepted.out.text()).not.toContain('users/bob');
    expect(accepted.out.text()).toContain('2 follower(s) of @blog@coop.example.org.');
    const pending = context();
    await socialFollowers(pending.ctx, 'blog', { pending: true, json: true });
    expect((JSON.parse(pending.out.text()) as { uri: string; status: string }[]).map((f) => [f.uri, f.status])).toEqual([['https://peer.example/users/bob', 'pending']]);
    const none = context();
    await socialFollowers(none.ctx, 'events', {});
    expect(none.out.text()).toBe('Nobody follows @events@coop.example.org yet.');
    await expect(socialFollowers(context().ctx, 'shop', {})).rejects.toMatchObject({
      title: 'No such actor',
      message: '"shop" is not one of our actors. Ours are: @blog@coop.example.org, @events@coop.example.org, @market@coop.example.org.',
    });
    await expect(socialFollowers(context().ctx, '@blog@other.example', {})).rejects.toMatchObject({ title: 'No such actor' });
  });

  it('blocks a server for the co-op, says so once, lists it, and refuses what is neither an account nor a domain', async () => {
    await t.db.insertInto('ap_followers').values({ actor: 'market', follower_uri: 'https://spam.example/users/bot', follow_id: 'https://spam.example/follows/1', status: 'accepted' }).execute();
    const first = context();
    await socialBlock(first.ctx, 'Spam.Example');
    expect(first.out.text()).toBe('Blocked the server spam.example (and its subdomains) for the whole co-op: their follows of our actors ended, their posts are hidden, and what they send from now on is ignored.');
    expect(await t.db.selectFrom('ap_followers').select('follower_uri').where('follower_uri', '=', 'https://spam.example/users/bot').execute()).toEqual([]);
    const again = context();
    await socialBlock(again.ctx, 'spam.example');
    expect(again.out.text()).toBe('The server spam.example (and its subdomains) was already blocked; nothing changed.');
    await expect(socialBlock(context().ctx, 'not a thing')).rejects.toMatchObject({ title: 'Cannot block that', message: '"not a thing": Give an account (@user@host or its URL) or a domain (example.social).' });
    const list = context();
    await socialBlocks(list.ctx, {});
    expect(list.out.lines).toHaveLength(2);
    expect(list.out.lines[1]).toMatch(new RegExp(`domain\\s+spam\\.example\\s+the co-op\\s+cli:${os.userInfo().username}$`));
    const lifted = context();
    await socialUnblock(lifted.ctx, 'spam.example');
    expect(lifted.out.text()).toMatch(/^Unblocked spam\.example\./);
    await expect(socialUnblock(context().ctx, 'spam.example')).rejects.toMatchObject({ title: 'Not blocked' });
  });

  it('rotates keys only when confirmed: at a terminal by typing yes, elsewhere with --yes', async () => {
    const before = await activeKeys();
    expect(before).toHaveLength(6);
    await expect(socialKeysRotate(context().ctx, {})).rejects.toMatchObject({ title: 'Confirmation needed', hint: expect.stringContaining('--yes') });
    const declined = context(['no']);
    await expect(socialKeysRotate(declined.ctx, {})).rejects.toMatchObject({ title: 'Stopped' });
    expect(declined.out.questions).toEqual(['Type "yes" to go ahead: ']);
    expect(await activeKeys()).toEqual(before);

    const confirmed = context(['yes']);
    await socialKeysRotate(confirmed.ctx, { actor: ['market'] });
    expect(confirmed.out.text()).toContain('Rotated the keys of 1 actor(s)');
    expect(confirmed.out.text()).toMatch(/@market@coop\.example\.org\s+RSASSA-PKCS1-v1_5, Ed25519/);
    const afterOne = await activeKeys();
    expect(afterOne.filter((k) => k.startsWith('market:'))).not.toEqual(before.filter((k) => k.startsWith('market:')));
    expect(afterOne.filter((k) => !k.startsWith('market:'))).toEqual(before.filter((k) => !k.startsWith('market:')));

    await expect(socialKeysRotate(context().ctx, { actor: ['nobody'], yes: true })).rejects.toMatchObject({ title: 'No such actor' });
    const all = context();
    await socialKeysRotate(all.ctx, { yes: true });
    expect(all.out.text()).toContain('Rotated the keys of 3 actor(s)');
    const retired = await t.db.selectFrom('ap_keys').select('id').where('retired_at', 'is not', null).execute();
    expect(retired).toHaveLength(8);
    expect(await activeKeys()).toHaveLength(6);
  });
});
