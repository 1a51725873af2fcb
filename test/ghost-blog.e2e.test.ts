import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signGhostPayload } from '@rose/ghost';
import { createEmptyPostgresDatabase, freePort, makeProjectTempDir, repoRoot, roseEnv, runRose, startGhost, startRose, type GhostServer, type RunningRose } from '@rose/testing';

interface AdminPost {
  id: string;
  slug: string;
  title: string;
  updated_at: string;
}

// The blog pipeline against a real Ghost 6: full and incremental sync, unpublish/delete,
// members-only gating, a real signed webhook triggering a targeted rebuild that goes live,
// refused forgeries, and an interrupted sync.
// Each test runs several `rose` processes (a build takes minutes on a busy machine): the
// tests' own waits are the deadlines that matter, not vitest's default.
describe('blog from a real Ghost', { timeout: 300_000 }, () => {
  let ghost: GhostServer;
  let tmp: string;
  let env: Record<string, string>;
  let db: pg.Client;
  let dropDb: () => Promise<void>;
  let server: RunningRose | undefined;
  /** Where `rose serve` listens later: the site's address from the first build on (members sign in there). */
  let sitePort: number;
  const secret = randomBytes(24).toString('hex');
  const posts: Record<string, AdminPost> = {};

  const createPost = async (key: string, fields: Record<string, unknown>, type: 'posts' | 'pages' = 'posts') => {
    const res = await ghost.admin<Record<string, AdminPost[]>>('POST', `/${type}/?source=html`, { [type]: [{ status: 'published', ...fields }] });
    posts[key] = res[type]![0]!;
    return posts[key]!;
  };
  const editPost = async (key: string, fields: Record<string, unknown>) => {
    const current = posts[key]!;
    const res = await ghost.admin<{ posts: AdminPost[] }>('PUT', `/posts/${current.id}/?source=html`, { posts: [{ ...fields, updated_at: current.updated_at }] });
    posts[key] = res.posts[0]!;
    return posts[key]!;
  };
  const rows = async () =>
    (await db.query('select slug, title, visibility, html, members_html, source from blog_posts order by slug')).rows as {
      slug: string;
      title: string;
      visibility: string;
      html: string;
      members_html: string | null;
      source: string;
    }[];
  /** Tag and author slugs of a post, in order. */
  const linksOf = async (slug: string) => ({
    tags: (await db.query(`select t.slug from blog_post_tags pt join blog_tags t on t.id = pt.tag_id join blog_posts p on p.id = pt.post_id where p.slug = $1 order by pt.sort_order`, [slug])).rows.map((x) => x.slug as string),
    authors: (await db.query(`select a.slug from blog_post_authors pa join blog_authors a on a.id = pa.author_id join blog_posts p on p.id = pa.post_id where p.slug = $1 order by pa.sort_order`, [slug])).rows.map((x) => x.slug as string),
  });

  beforeAll(async () => {
    ghost = await startGhost();
    tmp = await makeProjectTempDir('ghost');
    const database = await createEmptyPostgresDatabase();
    dropDb = database.drop;
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    env = {
      DATABASE_URL: database.url,
      ROSE_DATA_DIR: path.join(tmp, '.rose'),
      ROSE_DIST_DIR: path.join(tmp, 'dist'),
      GHOST_URL: ghost.url,
      GHOST_CONTENT_KEY: ghost.contentKey,
      GHOST_ADMIN_KEY: ghost.adminKey,
      GHOST_WEBHOOK_SECRET: secret,
      ROSE_SITE_URL: `http://127.0.0.1:${(sitePort = await freePort())}`,
    };
    const migrate = await runRose(['db', 'migrate'], env);
    if (migrate.code !== 0) throw new Error(migrate.stderr);
    await createPost('news', { title: 'Market news from Ghost', html: '<p>The market is <em>open</em>.</p>', tags: [{ name: 'Market' }, { name: 'News' }] });
    await createPost('recipe', { title: 'Soup of the week', html: '<p>Leek and potato.</p>', tags: [{ name: 'Recipes' }] });
    await createPost('old', { title: 'An old notice', html: '<p>Closed on Monday.</p>' });
    await createPost('members', { title: 'For members only', html: '<p>THE SECRET MINUTES of the board.</p>', visibility: 'members', custom_excerpt: 'Minutes of the board meeting.' });
    await createPost('preview', { title: 'Members preview', html: '<p>Open to everyone.</p><!--members-only--><p>THE SECRET PART after the divider.</p>', visibility: 'members' });
    await createPost('about', { title: 'About the co-op', html: '<p>Member-owned since 1987.</p>' }, 'pages');
    // Edge cases real Ghost content has: an embed card, an internal (#) tag, typographic
    // characters, and a slug that would shadow one of the blog's own routes.
    await createPost('edgy', {
      title: 'Crème fraîche & “quotes” <em>not html</em>',
      html: '<p>Watch:</p><figure class="kg-card kg-embed-card"><iframe src="https://www.youtube.com/embed/abc" allowfullscreen></iframe></figure><p>Done.</p>',
      tags: [{ name: 'Recipes' }, { name: '#hidden' }],
    });
    await createPost('reserved', { title: 'A post called tag', slug: 'tag', html: '<p>x</p>' });
    // Enough posts for two API pages, and for a single edit to be a small part of the site.
    for (let i = 0; i < 105; i++) await createPost(`bulk${i}`, { title: `Bulk post ${i}`, html: `<p>Bulk ${i}.</p>`, tags: [{ name: `Bulk ${i % 5}` }] });
  }, 900_000);

  afterAll(async () => {
    await server?.stop();
    await db?.end();
    await dropDb?.();
    await ghost?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('a full sync imports posts, pages, tags and authors; members-only parts are kept apart from what pages show', async () => {
    const r = await runRose(['ghost', 'sync'], env);
    expect(r.code, r.stderr).toBe(0);
    // A fresh Ghost also has its own welcome post and pages.
    const counted = /Full sync from .* fetched (\d+) posts, (\d+) pages; (\d+) added/.exec(r.stdout);
    expect(counted, r.stdout).not.toBeNull();
    expect(Number(counted![1])).toBeGreaterThanOrEqual(109);
    expect(Number(counted![3])).toBe(Number(counted![1]) + Number(counted![2]) - 1); // the reserved slug is skipped
    const all = await rows();
    expect(all.map((p) => p.slug)).toEqual(expect.arrayContaining(Object.values(posts).filter((p) => p !== posts.reserved).map((p) => p.slug)));
    expect(all.every((p) => p.source === 'ghost')).toBe(true);
    const members = all.find((p) => p.slug === posts.members!.slug)!;
    expect(members.visibility).toBe('members');
    // Public columns hold what Ghost's Content API shows anyone; the rest comes through the Admin API.
    expect(members.html).toBe('');
    expect(members.members_html).toBe('<p>THE SECRET MINUTES of the board.</p>');
    const preview = all.find((p) => p.slug === posts.preview!.slug)!;
    expect(preview.html).toBe('<p>Open to everyone.</p>');
    expect(preview.members_html).toBe('<p>THE SECRET PART after the divider.</p>');
    const tags = (await db.query(`select t.slug from blog_post_tags pt join blog_tags t on t.id = pt.tag_id join blog_posts p on p.id = pt.post_id where p.slug = $1 order by pt.sort_order`, [posts.news!.slug])).rows.map((x) => x.slug);
    expect(tags).toEqual(['market', 'news']);
    const edgy = all.find((p) => p.slug === posts.edgy!.slug)!;
    expect(edgy.title).toBe('Crème fraîche & “quotes” <em>not html</em>');
    expect(edgy.html).toContain('<iframe src="https://www.youtube.com/embed/abc" allowfullscreen></iframe>');
    expect(all.some((p) => p.slug === 'tag')).toBe(false);
    expect(r.stderr).toContain('skipped post "tag": reserved for the blog\'s own pages');
    expect(r.stderr).not.toContain('members-only post(s) have only their public teaser');
    const hidden = (await db.query(`select visibility from blog_tags where slug = 'hash-hidden'`)).rows[0] as { visibility: string } | undefined;
    expect(hidden?.visibility).toBe('internal');
    // Ghost's navigation becomes the site's, with Ghost's own URLs mapped under /blog/.
    const nav = (await db.query(`select label, url from blog_navigation where menu = 'primary' order by position`)).rows as { label: string; url: string }[];
    expect(nav.length).toBeGreaterThan(0);
    expect(nav.find((n) => n.label === 'Home')?.url).toBe('/blog/');
    expect(nav.every((n) => n.url.startsWith('/blog/') || /^https?:\/\//.test(n.url))).toBe(true);
  });

  it('an incremental sync fetches only what changed', async () => {
    const nothing = await runRose(['ghost', 'sync'], env);
    expect(nothing.stdout, nothing.stderr).toMatch(/Incremental sync .* fetched 0 posts, 0 pages; 0 added, 0 updated, 0 removed/);
    expect(nothing.stdout).not.toContain('settings changed');
    await editPost('recipe', { title: 'Soup of the week: leek' });
    const r = await runRose(['ghost', 'sync'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Incremental sync .* fetched 1 posts, 0 pages; 0 added, 1 updated/);
    expect((await rows()).find((p) => p.slug === posts.recipe!.slug)!.title).toBe('Soup of the week: leek');
  });

  it('a tag and an author deleted in Ghost and re-created with the same slug stay on their posts (incremental and --full)', async () => {
    const jo = await ghost.createStaffUser({ name: 'Jo Writer', email: 'jo@example.org' });
    expect(jo.slug).toBe('jo');
    await createPost('fair', { title: 'Autumn fair', html: '<p>Stalls.</p>', tags: [{ name: 'Fair' }], authors: [{ id: jo.id }] });
    await createPost('raffle', { title: 'Fair raffle', html: '<p>Prizes.</p>', tags: [{ name: 'Fair' }], authors: [{ id: jo.id }] });
    expect((await runRose(['ghost', 'sync'], env)).code).toBe(0);
    expect(await linksOf(posts.fair!.slug)).toEqual({ tags: ['fair'], authors: ['jo'] });

    const { tags } = await ghost.admin<{ tags: { id: string }[] }>('GET', '/tags/?filter=slug:fair');
    await ghost.admin('DELETE', `/tags/${tags[0]!.id}/`);
    await ghost.deleteStaffUser(jo.id);
    const joAgain = await ghost.createStaffUser({ name: 'Jo Writer', email: 'jo.again@example.org' });
    expect(joAgain.slug).toBe('jo');
    for (const key of ['fair', 'raffle']) await editPost(key, { tags: [{ name: 'Fair' }], authors: [{ id: joAgain.id }] });

    const incremental = await runRose(['ghost', 'sync'], env);
    expect(incremental.code, incremental.stderr).toBe(0);
    for (const key of ['fair', 'raffle']) expect(await linksOf(posts[key]!.slug)).toEqual({ tags: ['fair'], authors: ['jo'] });
    const full = await runRose(['ghost', 'sync', '--full'], env);
    expect(full.code, full.stderr).toBe(0);
    for (const key of ['fair', 'raffle']) expect(await linksOf(posts[key]!.slug)).toEqual({ tags: ['fair'], authors: ['jo'] });
    const ids = (await db.query(`select (select ghost_id from blog_tags where slug = 'fair') as tag, (select ghost_id from blog_authors where slug = 'jo') as author`)).rows[0];
    expect(ids).toEqual({ tag: expect.not.stringMatching(tags[0]!.id), author: joAgain.id });
  });

  it('an incremental sync picks up changes to only the tags or authors of posts (Ghost does not move updated_at)', async () => {
    const before = posts.news!.updated_at;
    await editPost('news', { tags: [{ name: 'Market' }, { name: 'Cheese' }] });
    expect(posts.news!.updated_at).toBe(before); // the premise: Ghost leaves updated_at alone
    const r = await runRose(['ghost', 'sync'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fetched 0 posts, 0 pages; 0 added, 0 updated, 0 removed, \d+ unchanged, 1 relinked/);
    expect(await linksOf(posts.news!.slug)).toEqual({ tags: ['market', 'cheese'], authors: ['rose'] });
    // Nothing left to do afterwards.
    expect((await runRose(['ghost', 'sync'], env)).stdout).not.toContain('relinked');
  });

  it('unpublished and deleted posts disappear from the database and the built site', async () => {
    expect((await runRose(['build'], env, { timeoutMs: 240_000 })).code).toBe(0);
    const client = path.join(tmp, 'dist', 'current', 'client', 'blog');
    await expect(fs.access(path.join(client, posts.old!.slug, 'index.html'))).resolves.toBeUndefined();
    await editPost('old', { status: 'draft' });
    await ghost.admin('DELETE', `/posts/${posts.recipe!.id}/`);
    const r = await runRose(['build', '--sync'], env, { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 removed/);
    const slugs = (await rows()).map((p) => p.slug);
    expect(slugs).not.toContain(posts.old!.slug);
    expect(slugs).not.toContain(posts.recipe!.slug);
    await expect(fs.access(path.join(client, posts.old!.slug, 'index.html'))).rejects.toThrow();
    await expect(fs.access(path.join(client, posts.recipe!.slug, 'index.html'))).rejects.toThrow();
    const gated = await fs.readFile(path.join(client, posts.members!.slug, 'index.html'), 'utf8');
    expect(gated).toContain('data-testid="members-only"');
    expect(gated).toContain('Minutes of the board meeting.');
    expect(gated).not.toContain('SECRET');
  });

  it('an interrupted sync leaves the previous state whole, and the next one completes', async () => {
    for (const i of [3, 50, 101]) await editPost(`bulk${i}`, { title: `Bulk post ${i}, edited` });
    const edited = async () => (await rows()).filter((p) => p.title.endsWith(', edited')).length;
    expect(await edited()).toBe(0);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.join(repoRoot, 'cli', 'bin', 'rose.js'), 'ghost', 'sync'], { env: roseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((r) => child.once('close', r));
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('posts:')) child.kill('SIGKILL'); // mid-fetch
    });
    await closed;
    // All or nothing: either none of the edits landed or all of them — never some.
    expect([0, 3]).toContain(await edited());
    const r = await runRose(['ghost', 'sync'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await edited()).toBe(3);
  });

  it('a real webhook from Ghost is verified and its targeted rebuild goes live', async () => {
    server = await startRose(['serve', '--port', String(sitePort), '--host', '127.0.0.1'], env);
    const install = await runRose(['ghost', 'webhooks', 'install', '--target', new URL('/api/ghost/webhook', server.url).toString()], env);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/\d+ created/);
    const again = await runRose(['ghost', 'webhooks', 'install', '--target', new URL('/api/ghost/webhook', server.url).toString()], env);
    expect(again.stdout).toMatch(/0 created, \d+ already there/);

    await editPost('news', { title: 'Market news: now with cheese' });
    const page = new URL(`/blog/${posts.news!.slug}/`, server.url);
    await expect
      .poll(async () => (await (await fetch(page)).text()).includes('Market news: now with cheese'), { timeout: 90_000, interval: 500 })
      .toBe(true);
    const release = JSON.parse(await fs.readFile(path.join(tmp, 'dist', 'current', 'release.json'), 'utf8')) as { kind: string; rendered: number; pages: number };
    expect(release.kind).toBe('targeted');
    expect(release.rendered).toBeLessThan(release.pages);
  });

  it('refuses tampered and stale signatures with 401 and changes nothing', async () => {
    const before = await rows();
    const jobsBefore = (await db.query('select count(*)::int as n from jobs')).rows[0].n as number;
    const body = JSON.stringify({ post: { current: { id: posts.news!.id }, previous: {} } });
    const url = new URL('/api/ghost/webhook', server!.url);
    const send = (signature: string, payload = body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ghost-signature': signature }, body: payload });
    const tampered = await send(signGhostPayload(body, secret, new Date()), body.replace('current', 'currant'));
    expect(tampered.status).toBe(401);
    const wrongSecret = await send(signGhostPayload(body, 'not-the-secret-at-all', new Date()));
    expect(wrongSecret.status).toBe(401);
    const stale = await send(signGhostPayload(body, secret, new Date(Date.now() - 6 * 60_000)));
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: string }).error).toMatch(/more than 5 minutes old/);
    const missing = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(missing.status).toBe(401);
    expect(await rows()).toEqual(before);
    expect((await db.query('select count(*)::int as n from jobs')).rows[0].n).toBe(jobsBefore);

    // A genuine delivery is applied once; the same delivery again does nothing more.
    const signature = signGhostPayload(body, secret, new Date());
    const first = await send(signature);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { status: string }).status).toBe('applied');
    const redelivered = await send(signature);
    expect(redelivered.status).toBe(200);
    expect(await redelivered.json()).toEqual({ status: 'duplicate' });
  });

  it('a webhook for a post with a reserved slug is handled exactly as sync handles it', async () => {
    const deliver = async (id: string) => {
      const body = JSON.stringify({ post: { current: { id }, previous: {} } });
      const res = await fetch(new URL('/api/ghost/webhook', server!.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ghost-signature': signGhostPayload(body, secret, new Date()) },
        body,
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { status: string; changed: string[]; skipped: { kind: string; slug: string; reason: string }[] };
    };
    const reason = "reserved for the blog's own pages";
    // A new post whose slug is one of the blog's own routes is skipped, as sync skips it.
    await createPost('search', { title: 'A post called search', slug: 'search', html: '<p>x</p>' });
    expect((await deliver(posts.search!.id)).skipped).toEqual([{ kind: 'post', slug: 'search', reason }]);
    // A published post renamed to one is removed from the site, as sync removes it.
    const oldSlug = posts.bulk1!.slug;
    await editPost('bulk1', { slug: 'feed' });
    const renamed = await deliver(posts.bulk1!.id);
    // Ghost itself also sends the edit to the webhook registered earlier; whichever delivery
    // comes first removes the old page, the other finds nothing left to change.
    expect(renamed).toMatchObject({ status: 'applied', skipped: [{ kind: 'post', slug: 'feed', reason }] });
    expect([[oldSlug], []]).toContainEqual(renamed.changed);
    const after = await rows();
    expect(after.map((p) => p.slug)).not.toContain('search');
    expect(after.map((p) => p.slug)).not.toContain('feed');
    expect(after.map((p) => p.slug)).not.toContain(oldSlug);

    // A full sync then finds nothing to change: both paths applied the same rule.
    const sync = await runRose(['ghost', 'sync', '--full'], env);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/0 added, 0 updated, 0 removed/);
    expect(sync.stderr).toContain(`skipped post "search": ${reason}`);
    expect(sync.stderr).toContain(`skipped post "feed": ${reason}`);
    expect(await rows()).toEqual(after);
  });

  it("a webhook brings a members-only post's new body, which a signed-in member reads in its server island", async () => {
    await editPost('members', { html: '<p>THE SECRET MINUTES of the board, amended.</p>' });
    const body = JSON.stringify({ post: { current: { id: posts.members!.id }, previous: {} } });
    const res = await fetch(new URL('/api/ghost/webhook', server!.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ghost-signature': signGhostPayload(body, secret, new Date()) },
      body,
    });
    expect(res.status).toBe(200);
    const stored = (await rows()).find((p) => p.slug === posts.members!.slug)!;
    expect(stored.html).toBe('');
    expect(stored.members_html).toBe('<p>THE SECRET MINUTES of the board, amended.</p>');

    const password = 'Quince-Medlar-Damson-93';
    const created = await runRose(['users', 'create', '--email', 'mo@example.org', '--name', 'Mo Member', '--password-stdin'], env, { stdin: password });
    expect(created.code, created.stderr).toBe(0);
    const login = await fetch(new URL('/auth/login', server!.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(server!.url).origin },
      body: new URLSearchParams({ email: 'mo@example.org', password }),
    });
    expect(login.status).toBe(303);
    const cookie = `rose_session=${/rose_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')![1]}`;
    const page = await (await fetch(new URL(`/blog/${posts.members!.slug}/`, server!.url))).text();
    expect(page).not.toContain('SECRET');
    const islandPath = /href="(\/_server-islands\/MembersContent[^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    expect(await (await fetch(new URL(islandPath, server!.url), { headers: { cookie } })).text()).toContain('THE SECRET MINUTES of the board, amended.');
    expect(await (await fetch(new URL(islandPath, server!.url))).text()).not.toContain('SECRET');
  });

});
