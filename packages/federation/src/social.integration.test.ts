import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { ensurePartActors } from './actors.repository.ts';
import { createSqlKvStore } from './fedify-kv.ts';
import { createRoseFederation, type FederationData } from './federation.ts';
import { syncPartObjects, type DesiredObject } from './part-sync.ts';
import { createSocial } from './social.service.ts';
import type { Federation } from '@fedify/fedify';

// The social hub's verbs on both databases, without other servers: what members and staff
// do here, and what each queues for delivery.
describe.each(databaseKinds)('social hub verbs on %s', (kind) => {
  let t: TestDatabase;
  let social: ReturnType<typeof createSocial>;
  let federation: Federation<FederationData>;
  const origin = 'https://coop.example';
  const clock = createFixedClock(new Date('2026-11-30T12:00:00Z'));
  const silent = { info: () => {}, warn: () => {}, error: () => {} };
  const sends = async () => (await t.db.selectFrom('jobs').select('payload').where('type', '=', 'federation.send').orderBy('id').execute()).map((j) => j.payload as { sender: string; followers: boolean; activity: { type: string } });

  beforeAll(async () => {
    t = await createTestDatabase(kind);
    federation = createRoseFederation({ db: t.db, kv: createSqlKvStore(t.db, { clock }), siteUrl: origin, clock, logger: silent, profileUrl: (h) => `${origin}/social/@${h}`, describe: async (a) => ({ name: a.displayName, summary: a.summary }), software: { name: 'rose-ash', version: '0.1.0' } });
    await ensurePartActors(t.db, (part) => ({ name: `Co-op ${part}`, summary: '' }));
    social = createSocial({ db: t.db, federation: async () => federation, siteUrl: origin, clock, hashtagUrl: (tag) => `/social/tags/${tag}`, profilePath: (h) => `/social/@${h}` });
    for (const handle of ['ann', 'bob']) {
      const user = await t.db.insertInto('users').values({ email: `${handle}@example.org`, display_name: handle, role: 'member' }).returning('id').executeTakeFirstOrThrow();
      expect((await social.enableProfile({ userId: user.id, handle, displayName: handle })).ok).toBe(true);
    }
  });
  afterAll(() => t?.drop());

  it('chooses a handle once: invalid, reserved and taken handles are refused', async () => {
    const user = await t.db.insertInto('users').values({ email: 'cy@example.org', display_name: 'Cy', role: 'member' }).returning('id').executeTakeFirstOrThrow();
    expect(await social.enableProfile({ userId: user.id, handle: 'Not OK!', displayName: 'Cy' })).toMatchObject({ ok: false, error: { type: 'invalid-handle' } });
    expect(await social.enableProfile({ userId: user.id, handle: 'blog', displayName: 'Cy' })).toMatchObject({ ok: false, error: { type: 'invalid-handle', message: expect.stringMatching(/reserved/) } });
    expect(await social.enableProfile({ userId: user.id, handle: '@ANN', displayName: 'Cy' })).toEqual({ ok: false, error: { type: 'handle-taken' } });
    expect((await social.enableProfile({ userId: user.id, handle: '@Cy_2', displayName: 'Cy' })).ok).toBe(true);
    expect(await social.enableProfile({ userId: user.id, handle: 'cy_3', displayName: 'Cy' })).toEqual({ ok: false, error: { type: 'already-enabled', handle: 'cy_2' } });
  });

  it('composes, shows the timeline (no date given), hashtags, local likes and unlikes, and a profile edit is sent to followers', async () => {
    const post = await social.compose('ann', { text: 'Apple day on **Saturday** #Orchard <script>x</script>', visibility: 'public' });
    if (!post.ok) throw new Error(JSON.stringify(post.error));
    const [create] = (await sends()).slice(-1);
    expect(create).toMatchObject({ sender: 'ann', followers: true, activity: { type: 'Create' } });
    const timeline = await social.timeline('ann');
    expect(timeline[0]).toMatchObject({ uri: post.value.uri, author: { handle: '@ann@coop.example', local: true } });
    expect(timeline[0]!.contentHtml).toContain('<strong>Saturday</strong>');
    expect(timeline[0]!.contentHtml).not.toContain('<script');
    expect((await social.tagged('#orchard')).map((i) => i.uri)).toEqual([post.value.uri]);
    expect(await social.tagged('nothing-here')).toEqual([]);
    expect(await social.tagged('bad tag!')).toEqual([]);
    expect((await social.profilePosts('ann'))[0]).toMatchObject({ uri: post.value.uri, author: { handle: '@ann@coop.example' } });

    expect(await social.like('bob', post.value.uri)).toEqual({ ok: true, value: undefined });
    expect(await social.like('bob', `${origin}/ap/notes/00000000-0000-0000-0000-000000000000`)).toEqual({ ok: false, error: { type: 'not-found' } });
    expect((await social.notifications('ann')).map((n) => [n.kind, n.excerpt])).toEqual([['like', 'Apple day on Saturday #Orchard']]);
    expect((await social.timeline('ann'))[0]).toMatchObject({ likes: 1, likedByMe: false });
    expect((await social.profilePosts('ann', { viewer: 'bob' }))[0]).toMatchObject({ likes: 1, likedByMe: true });
    expect((await social.tagged('orchard', { viewer: 'bob' }))[0]).toMatchObject({ likes: 1, likedByMe: true });
    expect(await social.unlike('bob', post.value.uri)).toBe(true);
    expect(await social.unlike('bob', post.value.uri)).toBe(false);

    const ann = await t.db.selectFrom('ap_actors').select('user_id').where('handle', '=', 'ann').executeTakeFirstOrThrow();
    expect(await social.updateProfile(ann.user_id!, { summary: 'Grows apples' })).toBe(true);
    // Queued with the change: the worker sends the actor document as it then is.
    expect((await t.db.selectFrom('jobs').select('payload').where('type', '=', 'federation.profile').execute()).map((j) => j.payload)).toEqual([{ actor: 'ann' }]);
    expect((await t.db.selectFrom('ap_actors').select('summary').where('handle', '=', 'ann').executeTakeFirstOrThrow()).summary).toBe('Grows apples');
  });

  it('a member who approves followers is asked, here too, and answers', async () => {
    const bob = await t.db.selectFrom('ap_actors').select('user_id').where('handle', '=', 'bob').executeTakeFirstOrThrow();
    expect(await social.updateProfile(bob.user_id!, { manuallyApprovesFollowers: true })).toBe(true);
    expect(await social.follow('ann', `${origin}/ap/actors/bob`)).toEqual({ ok: true, value: { uri: `${origin}/ap/actors/bob`, status: 'pending' } });
    expect((await social.notifications('bob')).filter((n) => n.kind === 'follow-request').map((n) => n.from.handle)).toEqual(['@ann@coop.example']);
    expect(await social.followers('bob', { status: 'pending' })).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(await social.answerFollowRequest('bob', `${origin}/ap/actors/ann`, true)).toBe(true);
    expect(await social.followStatus('ann', `${origin}/ap/actors/bob`)).toBe('accepted');
    expect(await social.answerFollowRequest('bob', `${origin}/ap/actors/ann`, true)).toBe(false);
  });

  it('blocks and unblocks other servers, never this one', async () => {
    expect(await social.block('coop.example', 'staff')).toMatchObject({ ok: false, error: { type: 'invalid' } });
    expect(await social.block(`${origin}/ap/actors/ann`, 'staff')).toMatchObject({ ok: false, error: { type: 'invalid' } });
    expect(await social.block('Spam.Example', 'staff')).toEqual({ ok: true, value: { kind: 'domain', target: 'spam.example' } });
    expect((await social.blocks()).map((b) => b.target)).toEqual(['spam.example']);
    expect(await social.unblock('spam.example')).toBe(true);
    expect(await social.unblock('spam.example')).toBe(false);
    expect(await social.blocks()).toEqual([]);
  });

  it('finds the object of a blog post by its page, and the replies other servers sent to the co-op', async () => {
    const article: DesiredObject = { source: 'blog:cider', type: 'Article', name: 'Cider', summary: null, contentHtml: '<p>Pressing day</p>', url: `${origin}/blog/cider/`, tags: [], extra: { image: `${origin}/blog/images/press.jpg` }, publishedAt: clock.now() };
    const ctx = federation.createContext(new URL(origin), {});
    expect(await syncPartObjects({ db: t.db, ctx, clock }, 'blog', 'blog:', [article])).toEqual({ created: 1, updated: 0, deleted: 0 });
    expect(await syncPartObjects({ db: t.db, ctx, clock }, 'blog', 'blog:', [article])).toEqual({ created: 0, updated: 0, deleted: 0 });
    const uri = await social.objectUriOfUrl(`${origin}/blog/cider/`);
    expect(uri).toMatch(new RegExp(`^${origin}/ap/articles/[0-9a-f-]{36}$`));
    expect(await social.objectUriOfUrl(`${origin}/blog/nothing/`)).toBeUndefined();
    await t.db.insertInto('ap_remote_actors').values({ uri: 'https://elsewhere.example/users/zed', host: 'elsewhere.example', handle: 'zed@elsewhere.example', type: 'Person' }).execute();
    await t.db.insertInto('ap_posts').values({ uri: 'https://elsewhere.example/notes/1', actor_uri: 'https://elsewhere.example/users/zed', type: 'Note', content_html: '<p>Lovely</p>', in_reply_to: uri!, visibility: 'public', published_at: clock.now() }).execute();
    const replies = await social.coopReplies();
    expect(replies).toEqual([expect.objectContaining({ uri: 'https://elsewhere.example/notes/1', hidden: false, parent: { uri, name: 'Cider', url: `${origin}/blog/cider/`, actor: 'blog' } })]);
    expect(await social.hidePost('https://elsewhere.example/notes/1', true)).toBe(true);
    expect(await social.coopReplies()).toEqual([]);
    expect(await social.coopReplies({ includeHidden: true })).toHaveLength(1);
    expect(await social.repliesTo(uri!)).toEqual([]);
  });
});
