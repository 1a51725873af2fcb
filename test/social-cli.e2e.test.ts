import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, makeProjectTempDir, runRose, type RunResult, type TestDatabase } from '@rose/testing';

// `rose social …` through the real binary on a fresh, migrated Postgres database: what staff
// type, what they read, and what it left in the database. The commands' finer cases run
// in-process (cli/src/commands/social.test.ts); each spawn here costs about a second, so the
// read-only ones run side by side.
describe('rose social end to end (Postgres)', () => {
  let t: TestDatabase;
  let tmp: string;
  let env: Record<string, string>;
  const site = 'https://coop.example.org';
  const rose = (...args: string[]) => runRose(['social', ...args], env);
  const ok = (r: RunResult) => {
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    tmp = await makeProjectTempDir('social-cli-e2e');
    env = { DATABASE_URL: t.url!, ROSE_DATA_DIR: path.join(tmp, '.rose'), ROSE_SITE_URL: site };
  });
  afterAll(async () => {
    await t?.drop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('lists the actors, posts as a part, and refuses what it cannot do with a reason and a non-zero exit', async () => {
    const actors = ok(await rose('actors'));
    for (const part of ['blog', 'market', 'events']) expect(actors).toContain(`@${part}@coop.example.org`);

    const retiredKeys = async () => (await t.db.selectFrom('ap_keys').select('id').where('retired_at', 'is not', null).execute()).length;
    const retiredBefore = await retiredKeys();
    const [posted, unknownActor, noText, refusedRotation] = await Promise.all([
      rose('post', '--as', 'blog', 'Hello, fediverse! #cooperatives'),
      rose('post', '--as', 'shop', 'Hello'),
      rose('post', '--as', 'blog', ''),
      rose('keys', 'rotate'),
    ]);
    expect(ok(posted)).toMatch(new RegExp(`^Posted as @blog@coop\\.example\\.org: ${site}/\\S+\\n`));
    expect(posted.stdout).toContain('`rose serve`) or `rose worker` delivers it');
    const notes = await t.db.selectFrom('ap_objects').select(['actor', 'type', 'visibility', 'content_html']).execute();
    expect(notes).toEqual([{ actor: 'blog', type: 'Note', visibility: 'public', content_html: expect.stringContaining('Hello, fediverse!') }]);
    expect(await t.db.selectFrom('jobs').select('type').where('type', '=', 'federation.send').execute()).toHaveLength(1);

    expect(unknownActor.code).toBe(1);
    expect(unknownActor.stderr).toContain('Unknown actor');
    expect(unknownActor.stderr).toContain('Posts from the CLI speak as one of the parts: blog, market, events.');
    expect(unknownActor.stderr).not.toMatch(/\n\s+at /);
    expect(noText.code).toBe(1);
    expect(noText.stderr).toContain('Empty post');
    // Standard input is not a terminal here: nobody can confirm, so it refuses.
    expect(refusedRotation.code).toBe(1);
    expect(refusedRotation.stderr).toContain('Confirmation needed');
    expect(refusedRotation.stderr).toContain('pass --yes');
    expect(await retiredKeys()).toBe(retiredBefore);
  });

  it('shows the inbox and followers, blocks a server, and rotates keys with --yes', async () => {
    const [emptyInbox, noFollowers] = await Promise.all([rose('inbox', '--json'), rose('followers', 'blog')]);
    expect(JSON.parse(ok(emptyInbox))).toEqual([]);
    expect(ok(noFollowers)).toContain('Nobody follows @blog@coop.example.org yet.');

    await t.db
      .insertInto('ap_inbox')
      .values({ activity_id: 'https://peer.example/activities/1', type: 'Follow', actor_uri: 'https://peer.example/users/ann', object_uri: `${site}/ap/actors/blog`, recipient: 'blog', outcome: 'accepted', payload: JSON.stringify({}) })
      .execute();
    await t.db.insertInto('ap_followers').values({ actor: 'blog', follower_uri: 'https://peer.example/users/ann', follow_id: 'https://peer.example/activities/1', status: 'accepted' }).execute();
    const [inbox, followers, badBlock] = await Promise.all([rose('inbox', '--json'), rose('followers', '@blog'), rose('block', 'not a thing')]);
    expect(JSON.parse(ok(inbox))).toEqual([expect.objectContaining({ activityId: 'https://peer.example/activities/1', type: 'Follow', actor: 'https://peer.example/users/ann', outcome: 'accepted' })]);
    expect(ok(followers)).toContain('https://peer.example/users/ann');
    expect(followers.stdout).toContain('1 follower(s) of @blog@coop.example.org.');
    expect(badBlock.code).toBe(1);
    expect(badBlock.stderr).toContain('Cannot block that');
    expect(badBlock.stderr).toContain('Give an account (@user@host or its URL) or a domain');

    expect(ok(await rose('block', 'spam.example'))).toContain('Blocked the server spam.example');
    const [blocks, rotated] = await Promise.all([rose('blocks'), rose('keys', 'rotate', '--yes')]);
    expect(ok(blocks)).toMatch(/domain\s+spam\.example\s+the co-op\s+cli:\S+/);
    expect(ok(rotated)).toContain('Rotated the keys of 3 actor(s)');
    // Each actor's RSA and Ed25519 pair replaced: the old ones kept, retired.
    const keys = await t.db.selectFrom('ap_keys').select(['actor', 'retired_at']).execute();
    expect(keys.filter((k) => k.retired_at !== null)).toHaveLength(6);
    expect(keys.filter((k) => k.retired_at === null).map((k) => k.actor).sort()).toEqual(['blog', 'blog', 'events', 'events', 'market', 'market']);
  });
});
