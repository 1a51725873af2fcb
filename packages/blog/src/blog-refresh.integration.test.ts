import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '@rose/db';
import { createEmptyPostgresDatabase, createTestDatabase, databaseKinds, dropDatabase, repoRoot, type TestDatabase } from '@rose/testing';
import { blogChangesSince, loadBlogSnapshot, refreshBlogSnapshot, type BlogSnapshot } from './blog.view.ts';
import { loadContent, type ContentBundle } from './content-loader.ts';
import { blogPageKeys } from './page-keys.ts';
import { seedContent } from './seed.service.ts';

type DatabaseKind = (typeof databaseKinds)[number];
type Db = Kysely<Database>;

/**
 * A database holding content/, fresh for every test, so no test depends on another's
 * writes or order. Postgres: copies of one seeded template (CREATE DATABASE … TEMPLATE,
 * ~0.1 s; migrating a new one takes over a second). PGlite: a migrated template loaded
 * and seeded (about a second on a busy machine).
 */
function seededDatabases(kind: DatabaseKind): () => Promise<Db> {
  let bundle: ContentBundle;
  let template: { name: string; url: string } | undefined;
  // CREATE DATABASE runs from a session outside the template: a template must have none.
  let workbench: { handle: DatabaseHandle; drop(): Promise<void> } | undefined;
  const open: (() => Promise<void>)[] = [];
  let copies = 0;

  beforeAll(async () => {
    bundle = await loadContent(path.join(repoRoot, 'content'));
    if (kind !== 'postgres') return;
    const seeded = await createTestDatabase('postgres');
    await seedContent(seeded.db, bundle);
    await seeded.close();
    const url = seeded.url!;
    template = { name: new URL(url).pathname.slice(1), url };
    const empty = await createEmptyPostgresDatabase();
    workbench = { handle: await openDatabase({ kind: 'postgres', url: empty.url }), drop: empty.drop };
  }, 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await workbench?.handle.close();
    await workbench?.drop();
    if (template) await dropDatabase(template.name);
  });

  return async () => {
    if (kind === 'pglite') {
      const t: TestDatabase = await createTestDatabase('pglite');
      open.push(() => t.drop());
      await seedContent(t.db, bundle);
      return t.db;
    }
    const name = `${template!.name}_${++copies}`;
    await sql`create database ${sql.id(name)} template ${sql.id(template!.name)}`.execute(workbench!.handle.db);
    const url = new URL(template!.url);
    url.pathname = `/${name}`;
    const handle = await openDatabase({ kind: 'postgres', url: url.toString() });
    open.push(async () => {
      await handle.close();
      await dropDatabase(name);
    });
    return handle.db;
  };
}

/** What a running server does after a write: find the changes, refresh only those. */
async function refreshFromChanges(db: Db, previous: BlogSnapshot) {
  const changes = await blogChangesSince(db, previous);
  return { changes, refreshed: await refreshBlogSnapshot(db, previous, changes.slugs, changes.versions) };
}

/** An edit no timestamp records (as raw SQL, a restore or a careless script would make). */
async function retitle(db: Db, slug: string, title: string) {
  await sql`update blog_posts set title = ${title} where slug = ${slug}`.execute(db);
}

/** A new published post shaped like `like`, with its tag and author links. */
async function insertPostLike(db: Db, like: string, slug: string) {
  const row = await db.selectFrom('blog_posts').selectAll().where('slug', '=', like).executeTakeFirstOrThrow();
  const id = crypto.randomUUID();
  await db
    .insertInto('blog_posts')
    .values({ ...row, id, slug, title: `New: ${row.title}`, ghost_id: null, published_at: new Date('2031-05-05T10:00:00Z') } as never)
    .execute();
  await sql`insert into blog_post_tags (post_id, tag_id, sort_order) select ${id}, tag_id, sort_order from blog_post_tags where post_id = ${row.id}`.execute(db);
  await sql`insert into blog_post_authors (post_id, author_id, sort_order) select ${id}, author_id, sort_order from blog_post_authors where post_id = ${row.id}`.execute(db);
}

async function deletePost(db: Db, slug: string) {
  const { id } = await db.selectFrom('blog_posts').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
  await db.deleteFrom('blog_post_tags').where('post_id', '=', id).execute();
  await db.deleteFrom('blog_post_authors').where('post_id', '=', id).execute();
  await db.deleteFrom('blog_posts').where('id', '=', id).execute();
}

async function postId(db: Db, slug: string): Promise<string> {
  return (await db.selectFrom('blog_posts').select('id').where('slug', '=', slug).executeTakeFirstOrThrow()).id;
}

describe.each(databaseKinds)('blog snapshot on %s', (kind) => {
  const freshDatabase = seededDatabases(kind);
  // A fresh PGlite costs about a second, so PGlite runs three cases where the row versions
  // themselves are at stake (its xmin must behave like Postgres's); Postgres runs them all.
  const postgresOnly = it.runIf(kind === 'postgres');
  const forKind = <T extends { pglite?: boolean }>(cases: T[]) => (kind === 'postgres' ? cases : cases.filter((c) => c.pglite));

  describe('refreshBlogSnapshot', () => {
    // A webhook-driven rebuild reads only the changed posts on top of the live snapshot; the
    // result must be exactly what a full read gives, or targeted pages would differ from a build.
    postgresOnly('equals a full read after an edit, a move in time, an unpublish and a new post', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const [edited, moved, unpublished] = [base.posts[2]!.slug, base.posts[5]!.slug, base.posts[8]!.slug];
      await db.updateTable('blog_posts').set({ title: 'Edited for the refresh test', updated_at: new Date() }).where('slug', '=', edited).execute();
      await db.updateTable('blog_posts').set({ published_at: new Date('2030-01-01T00:00:00Z'), updated_at: new Date() }).where('slug', '=', moved).execute();
      await db.updateTable('blog_posts').set({ status: 'draft', updated_at: new Date() }).where('slug', '=', unpublished).execute();
      await insertPostLike(db, edited, 'a-brand-new-post');

      const refreshed = await refreshBlogSnapshot(db, base, [edited, moved, unpublished, 'a-brand-new-post']);
      const full = await loadBlogSnapshot(db);
      expect(refreshed).toEqual(full);
      expect(blogPageKeys(refreshed, 10)).toEqual(blogPageKeys(full, 10));
      // Posts nobody touched keep their view objects (and so their cached keys).
      const untouched = base.posts.find((p) => ![edited, moved, unpublished].includes(p.slug) && refreshed.posts.some((r) => r === p));
      expect(untouched).toBeDefined();
    });

    postgresOnly('returns the same snapshot when nothing changed', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      expect(await refreshBlogSnapshot(db, base, [])).toBe(base);
    });
  });

  // A running server rebuilds only what changed since its last build, whoever wrote the
  // change: it diffs row versions (blogChangesSince) and refreshes those slugs. The cases
  // check the refreshed snapshot equals a full read, versions included: the versions it
  // carries are what the next diff compares against.
  describe('blogChangesSince', () => {
    postgresOnly('finds nothing when nothing changed, and reading a snapshot changes no version', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const changes = await blogChangesSince(db, base);
      expect(changes).toEqual({ slugs: [], shared: false, versions: base.versions });
      expect(await refreshBlogSnapshot(db, base, changes.slugs, changes.versions)).toBe(base);
    });

    it('finds a title edited with SQL that leaves updated_at alone', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const slug = base.posts[3]!.slug;
      await retitle(db, slug, 'Retitled behind the CMS');

      const { changes, refreshed } = await refreshFromChanges(db, base);
      expect(changes).toMatchObject({ slugs: [slug], shared: false });
      expect(refreshed).toEqual(await loadBlogSnapshot(db));
      const post = refreshed.posts.find((p) => p.slug === slug)!;
      expect(post.title).toBe('Retitled behind the CMS');
      // Nothing a diff of timestamps could have seen.
      expect(post.updatedAt).toEqual(base.posts[3]!.updatedAt);
    });

    postgresOnly('finds a renamed post under its old slug (page gone) and its new one (page new)', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const old = base.posts[4]!.slug;
      await sql`update blog_posts set slug = 'renamed-for-the-test' where slug = ${old}`.execute(db);

      const { changes, refreshed } = await refreshFromChanges(db, base);
      expect(changes).toMatchObject({ slugs: [old, 'renamed-for-the-test'].sort(), shared: false });
      expect(refreshed).toEqual(await loadBlogSnapshot(db));
      expect(refreshed.posts.map((p) => p.slug)).not.toContain(old);
    });

    postgresOnly.each([
      {
        change: 'a post deleted with its links',
        write: async (db: Db, base: BlogSnapshot) => {
          await deletePost(db, base.posts[6]!.slug);
          return [base.posts[6]!.slug];
        },
      },
      {
        change: 'a post unpublished',
        write: async (db: Db, base: BlogSnapshot) => {
          await sql`update blog_posts set status = 'draft' where slug = ${base.posts[7]!.slug}`.execute(db);
          return [base.posts[7]!.slug];
        },
      },
      {
        change: 'a page deleted',
        write: async (db: Db, base: BlogSnapshot) => {
          await deletePost(db, base.pages[0]!.slug);
          return [base.pages[0]!.slug];
        },
      },
      {
        change: 'a published post inserted',
        write: async (db: Db, base: BlogSnapshot) => {
          await insertPostLike(db, base.posts[9]!.slug, 'inserted-for-the-test');
          return ['inserted-for-the-test'];
        },
      },
      {
        change: 'a draft published',
        write: async (db: Db) => {
          const draft = await db.selectFrom('blog_posts').select('slug').where('status', '<>', 'published').orderBy('slug').executeTakeFirstOrThrow();
          await sql`update blog_posts set status = 'published', published_at = coalesce(published_at, now()) where slug = ${draft.slug}`.execute(db);
          return [draft.slug];
        },
      },
    ])('finds $change', async ({ write }) => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const expected = await write(db, base);

      const { changes, refreshed } = await refreshFromChanges(db, base);
      expect(changes).toMatchObject({ slugs: expected, shared: false });
      const full = await loadBlogSnapshot(db);
      expect(refreshed).toEqual(full);
      expect(full.posts.length + full.pages.length).not.toBe(base.posts.length + base.pages.length);
    });

    it.each(
      forKind([
        {
          change: 'a tag link added',
          write: (id: string) => sql`
            insert into blog_post_tags (post_id, tag_id, sort_order)
            select ${id}, t.id, 100 from blog_tags t
            where t.visibility = 'public' and t.id not in (select tag_id from blog_post_tags where post_id = ${id})
            order by t.slug limit 1`,
        },
        {
          change: 'a tag link removed',
          write: (id: string) => sql`
            delete from blog_post_tags
            where post_id = ${id} and sort_order = (select max(sort_order) from blog_post_tags where post_id = ${id})`,
          pglite: true,
        },
        {
          change: 'its tags reordered',
          write: (id: string) => sql`update blog_post_tags set sort_order = -sort_order where post_id = ${id}`,
        },
        {
          change: 'an author link added',
          write: (id: string) => sql`
            insert into blog_post_authors (post_id, author_id, sort_order)
            select ${id}, a.id, 100 from blog_authors a
            where a.id not in (select author_id from blog_post_authors where post_id = ${id})
            order by a.slug limit 1`,
        },
      ]),
    )('finds a post whose only change is $change', async ({ write }) => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      // A post with two tags or more, so removing or reordering one shows.
      const post = base.posts.find((p) => p.tags.length >= 2)!;
      const result = await write(await postId(db, post.slug)).execute(db);
      expect(result.numAffectedRows).toBeGreaterThan(0n);

      const { changes, refreshed } = await refreshFromChanges(db, base);
      expect(changes).toMatchObject({ slugs: [post.slug], shared: false });
      const full = await loadBlogSnapshot(db);
      expect(refreshed).toEqual(full);
      const after = full.posts.find((p) => p.slug === post.slug)!;
      expect([after.tags, after.authors]).not.toEqual([post.tags, post.authors]);
    });

    it.each(
      forKind([
        { change: 'a tag renamed', write: sql`update blog_tags set name = 'Renamed tag' where slug = 'recipes'`, pglite: true },
        {
          change: "an author's bio changed",
          write: sql`update blog_authors set bio = 'A new bio' where id = (select author_id from blog_post_authors order by author_id limit 1)`,
        },
        { change: 'the site settings changed', write: sql`update site_settings set value = value || '{"title": "Renamed site"}' where key = 'site'` },
        {
          change: 'a navigation item added',
          write: sql`insert into blog_navigation (menu, position, label, url) select 'primary', max(position) + 1, 'Added', '/blog/added/' from blog_navigation`,
        },
      ]),
    )('reports a change every page shows when $change', async ({ write }) => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      expect((await write.execute(db)).numAffectedRows).toBe(1n);

      const changes = await blogChangesSince(db, base);
      // The caller reads the whole snapshot again: no slugs to refresh.
      expect(changes).toMatchObject({ slugs: [], shared: true });
      expect(changes.versions!.shared).not.toBe(base.versions!.shared);
      // The change shows in a full read (it is not just a version that moved).
      expect(await loadBlogSnapshot(db)).not.toEqual({ ...base, versions: changes.versions });
    });

    // A Ghost sync writes a post's tags and authors again with every delivery: rows rewritten
    // as they were are no change every page shows (it would make each webhook read everything).
    postgresOnly('reports no shared change when tags, authors, settings and navigation are written again as they were, or the sync mark moves', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const column = { blog_tags: 'name', blog_authors: 'name', site_settings: 'value', blog_navigation: 'label' };
      for (const [table, name] of Object.entries(column)) {
        const written = await sql`update ${sql.table(table)} set ${sql.ref(name)} = ${sql.ref(name)}`.execute(db);
        expect(Number(written.numAffectedRows)).toBeGreaterThan(0);
      }
      // The sync mark (another settings row) moves with every sync; no page shows it.
      await sql`insert into site_settings (key, value) values ('ghost_sync_test_mark', ${JSON.stringify({ at: Date.now() })}::jsonb)`.execute(db);
      expect(await blogChangesSince(db, base)).toMatchObject({ slugs: [], shared: false });
    });

    postgresOnly('after a refresh, finds only the edits made since (versions carried over)', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const [first, second] = [base.posts[10]!.slug, base.posts[11]!.slug];
      await retitle(db, first, 'First edit');
      const one = await refreshFromChanges(db, base);
      expect(one.changes.slugs).toEqual([first]);

      await retitle(db, second, 'Second edit');
      const two = await refreshFromChanges(db, one.refreshed);
      expect(two.changes).toMatchObject({ slugs: [second], shared: false });
      expect(two.refreshed).toEqual(await loadBlogSnapshot(db));
      expect(await blogChangesSince(db, two.refreshed)).toMatchObject({ slugs: [], shared: false });
    });

    // The webhook path: the server refreshes the slug the webhook named, without diffing
    // first. Whatever else changed meanwhile must still be found by the next diff.
    postgresOnly('after a refresh of one edited post, still finds the other edited post', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const [named, other] = [base.posts[12]!.slug, base.posts[13]!.slug];
      await retitle(db, named, 'Named by the webhook');
      await retitle(db, other, 'Edited meanwhile');

      const partial = await refreshBlogSnapshot(db, base, [named]);
      expect(partial.posts.find((p) => p.slug === other)!.title).not.toBe('Edited meanwhile');
      const { changes, refreshed } = await refreshFromChanges(db, partial);
      expect(changes).toMatchObject({ slugs: [other], shared: false });
      expect(refreshed).toEqual(await loadBlogSnapshot(db));
    });

    postgresOnly('after a refresh of one edited post, still finds a post deleted and one added meanwhile', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const [named, deleted] = [base.posts[14]!.slug, base.posts[15]!.slug];
      await retitle(db, named, 'Named by the webhook');
      await deletePost(db, deleted);
      await insertPostLike(db, named, 'added-meanwhile');

      const partial = await refreshBlogSnapshot(db, base, [named]);
      expect(partial.posts.map((p) => p.slug)).toContain(deleted);
      const { changes, refreshed } = await refreshFromChanges(db, partial);
      expect(changes).toMatchObject({ slugs: ['added-meanwhile', deleted].sort(), shared: false });
      expect(refreshed).toEqual(await loadBlogSnapshot(db));
    });

    postgresOnly('after a refresh of one edited post, still reports a tag renamed meanwhile', async () => {
      const db = await freshDatabase();
      const base = await loadBlogSnapshot(db);
      const named = base.posts[16]!.slug;
      await retitle(db, named, 'Named by the webhook');
      await sql`update blog_tags set name = 'Renamed meanwhile' where slug = 'recipes'`.execute(db);

      const partial = await refreshBlogSnapshot(db, base, [named]);
      // A refresh keeps the other posts' views, tag names and all: a tag change needs a full
      // read. So its shared fingerprint stays the one it was diffed against, and the next diff
      // has everything read again.
      expect(partial.posts.flatMap((p) => p.tags).some((t) => t.name === 'Recipes')).toBe(true);
      expect(partial.versions!.shared).toBe(base.versions!.shared);
      expect(await blogChangesSince(db, partial)).toMatchObject({ slugs: [], shared: true });
    });

    postgresOnly('reports everything for a snapshot without versions, and a refresh of it stays without', async () => {
      const db = await freshDatabase();
      const base = { ...(await loadBlogSnapshot(db)), versions: undefined };
      const slug = base.posts[17]!.slug;
      await retitle(db, slug, 'Edited');

      expect(await blogChangesSince(db, base)).toEqual({ slugs: [], shared: true });
      const refreshed = await refreshBlogSnapshot(db, base, [slug]);
      expect(refreshed.versions).toBeUndefined();
      expect(refreshed).toEqual({ ...(await loadBlogSnapshot(db)), versions: undefined });
    });
  });
});
