import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from '@rose/testing';
import { writeContentFixture, post } from './content.fixture.ts';
import { loadContent } from './content-loader.ts';
import { listPaidMembers, readMembersContent, setMemberTier, memberTier } from './members.service.ts';
import { seedContent } from './seed.service.ts';

describe.each(databaseKinds)('members-only content on %s', (kind) => {
  let t: TestDatabase;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    t = await createTestDatabase(kind);
    const dir = await writeContentFixture({
      'posts/paid-only.md': post({ title: 'Paid only', date: '2025-05-01T10:00:00Z', authors: ['ann'], visibility: 'paid' }, 'Open to all.\n\n<!--members-only-->\n\nPAID SECRET'),
    });
    await seedContent(t.db, await loadContent(dir));
    for (const [name, role] of [['free', 'member'], ['paying', 'member'], ['staff', 'staff']] as const) {
      const row = await t.db.insertInto('users').values({ email: `${name}@example.org`, display_name: name, role }).returning('id').executeTakeFirstOrThrow();
      ids[name] = row.id;
    }
  });
  afterAll(() => t?.drop());

  const reader = (name: string, role: 'member' | 'staff' = 'member') => ({ userId: ids[name]!, role });

  it('asks anonymous readers to sign in and shows signed-in members the members-only part', async () => {
    expect(await readMembersContent(t.db, 'members-only', null)).toEqual({ ok: true, value: { access: 'sign-in' } });
    expect(await readMembersContent(t.db, 'members-only', reader('free'))).toEqual({ ok: true, value: { access: 'granted', html: '<p>SECRET BODY</p>\n' } });
  });

  it('shows paid posts to paid members and staff, and free members an upgrade note', async () => {
    expect(await readMembersContent(t.db, 'paid-only', reader('paying'))).toEqual({ ok: true, value: { access: 'upgrade' } });
    expect(await setMemberTier(t.db, 'PAYING@example.org ', 'paid')).toEqual({ ok: true, value: { userId: ids.paying, previous: 'free' } });
    expect(await memberTier(t.db, ids.paying!)).toBe('paid');
    expect(await listPaidMembers(t.db)).toEqual(new Set([ids.paying]));
    expect(await readMembersContent(t.db, 'paid-only', reader('paying'))).toEqual({ ok: true, value: { access: 'granted', html: '<p>PAID SECRET</p>\n' } });
    expect(await readMembersContent(t.db, 'paid-only', reader('free'))).toEqual({ ok: true, value: { access: 'upgrade' } });
    expect(await readMembersContent(t.db, 'paid-only', reader('staff', 'staff'))).toMatchObject({ ok: true, value: { access: 'granted' } });
    // Back to free: the body is withheld again at once.
    expect(await setMemberTier(t.db, 'paying@example.org', 'free')).toEqual({ ok: true, value: { userId: ids.paying, previous: 'paid' } });
    expect(await readMembersContent(t.db, 'paid-only', reader('paying'))).toEqual({ ok: true, value: { access: 'upgrade' } });
  });

  it('answers not-found for unknown slugs and drafts, and an empty part for public posts', async () => {
    expect(await readMembersContent(t.db, 'no-such-post', reader('free'))).toEqual({ ok: false, error: { type: 'not-found' } });
    expect(await readMembersContent(t.db, 'a-draft', reader('staff', 'staff'))).toEqual({ ok: false, error: { type: 'not-found' } });
    expect(await readMembersContent(t.db, 'first-post', null)).toEqual({ ok: true, value: { access: 'granted', html: '' } });
  });

  it('refuses a tier for an address without an account', async () => {
    expect(await setMemberTier(t.db, 'nobody@example.org', 'paid')).toEqual({ ok: false, error: { type: 'not-found' } });
  });
});
