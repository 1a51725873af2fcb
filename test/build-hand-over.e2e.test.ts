import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@rose/db';
import { builtSiteUrl, copyBuiltSite, freePort, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';

// `rose build --targeted` while `rose serve` runs on the embedded database: the command hands
// the rebuild to the server (which has the renderer and the data warm) and returns once that
// server serves the new pages; --wait until the release is current; --in-process builds in the
// command. One server for the file; each step edits a post through the server's socket.
// Each step starts `rose` processes; on a busy 2-core machine one can take half a minute.
describe('rose build --targeted handed to a running rose serve (embedded database)', { timeout: 180_000 }, () => {
  let tmp: string;
  let env: Record<string, string>;
  let server: RunningRose;
  let post: { id: string; slug: string };

  const dataDir = () => path.join(env.ROSE_DATA_DIR!, 'pglite');
  const dist = () => env.ROSE_DIST_DIR!;
  const currentRelease = async () => path.basename(await fs.readlink(path.join(dist(), 'current')));
  const releases = async () => (await fs.readdir(path.join(dist(), 'releases'))).sort();

  /** SQL through the socket of the process that owns the embedded database (the server). */
  const query = async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> => {
    const info = JSON.parse(await fs.readFile(`${dataDir()}.socket.json`, 'utf8')) as { socketDir: string; port: number };
    const client = new pg.Client({ host: info.socketDir, port: info.port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  const retitle = (title: string) => query('update blog_posts set title = $1, updated_at = now() where id = $2', [title, post.id]);
  const requestCount = async () => Number((await query<{ n: string }>('select count(*) as n from build_requests'))[0]!.n);

  const fetchPage = async () => {
    const res = await fetch(new URL(`/blog/${post.slug}/`, server.url));
    expect(res.status).toBe(200);
    return { release: res.headers.get('x-rose-release'), html: await res.text() };
  };
  const page = async () => (await fetchPage()).html;
  /**
   * The server answers with `title` now and goes on doing so past its next look at `current`
   * (every second): a hand-over that said "live" never shows the previous page again.
   */
  const keepsServing = async (title: string) => {
    const seen: string[] = [];
    const until = Date.now() + 1500;
    do {
      const { release, html } = await fetchPage();
      seen.push(`${release}: ${html.includes(title) ? 'new' : 'OLD'}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < until);
    expect(seen.filter((s) => s.endsWith('OLD')), `served after the command returned:\n${[...new Set(seen)].join('\n')}`).toEqual([]);
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('build-hand-over');
    // The release was built for builtSiteUrl: the origin is part of its code hash, so the server
    // and the commands use it too, or every rebuild would be a new Astro build.
    env = { ...(await copyBuiltSite(tmp)), ROSE_SITE_URL: builtSiteUrl };
    server = await startRose(['serve', '--port', String(await freePort()), '--host', '127.0.0.1'], env);
    const rows = await query<{ id: string; slug: string }>(
      "select id::text, slug from blog_posts where type = 'post' and status = 'published' and visibility = 'public' order by published_at desc offset 2 limit 1",
    );
    post = rows[0]!;
    expect(await page()).not.toContain('Handed over');
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine

  afterAll(async () => {
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('rebuilds in the running server and returns once it serves the new page', async () => {
    await retitle('Handed over to the server');
    const r = await runRose(['build', '--targeted'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Rebuilding in the running server (`);
    expect(r.stdout).toContain(`:${server.child.pid}), which has the renderer and the data warm`);
    expect(r.stdout).toMatch(/Live in \d+\.\d+ s: the server serves release \S+ \(\d+ changed files, 0 removed\)/);
    // No waiting for `current`: the server answers with the rebuilt page as soon as the command returns.
    await keepsServing('Handed over to the server');
  });

  it('with --wait, returns once the release is current, and names it', async () => {
    await retitle('Waited for the release');
    const r = await runRose(['build', '--targeted', '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Rebuilding in the running server');
    const release = /in the running server \(\d+ changed, \d+ removed; \d+ pages in the release\) → release (\S+) is live and current after/.exec(r.stdout)?.[1];
    expect(release, r.stdout).toBeDefined();
    expect(await currentRelease()).toBe(release);
    expect(await fs.readFile(path.join(dist(), 'releases', release!, 'client', 'blog', post.slug, 'index.html'), 'utf8')).toContain('Waited for the release');
    const served = await fetchPage();
    expect(served.release).toBe(release);
    expect(served.html).toContain('Waited for the release');
    await keepsServing('Waited for the release');
  });

  it('with --in-process, builds in the command; the server serves it once it follows current', async () => {
    await retitle('Built by the command');
    const requestsBefore = await requestCount();
    const r = await runRose(['build', '--targeted', '--in-process'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('running server');
    // Re-rendered by the live release's renderer (a concurrent edit of the checkout could make
    // it a new Astro build: "Built … files").
    expect(r.stdout).toMatch(/(Rendered|Built) \d+ files/);
    expect(await requestCount()).toBe(requestsBefore);
    const release = /→ release (\S+) is live/.exec(r.stdout)?.[1];
    expect(await currentRelease()).toBe(release);
    // `rose serve` looks at `current` every second.
    const until = Date.now() + 10_000;
    let html = await page();
    while (!html.includes('Built by the command') && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      html = await page();
    }
    expect(html).toContain('Built by the command');
  });

  it('refuses --wait without --targeted and changes nothing', async () => {
    await retitle('Never built');
    const [current, all, requests] = [await currentRelease(), await releases(), await requestCount()];
    const r = await runRose(['build', '--wait'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Option needs --targeted');
    expect(r.stderr).toContain('--wait applies to a targeted rebuild only.');
    expect(await currentRelease()).toBe(current);
    expect(await releases()).toEqual(all);
    expect(await requestCount()).toBe(requests);
    expect(await page()).not.toContain('Never built');
  });

  it('with no server running, builds in the command without handing over', async () => {
    expect(await server.stop()).toBe(0);
    // The edit made by this test process, which then lets go of the database.
    const handle = await openDatabase({ kind: 'pglite', dir: dataDir() });
    const requestsBefore = Number((await handle.db.selectFrom('build_requests').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    await handle.db.updateTable('blog_posts').set({ title: 'Built with no server', updated_at: new Date() }).where('id', '=', post.id).execute();
    await handle.close();

    const r = await runRose(['build', '--targeted'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('running server');
    expect(r.stdout).not.toContain('did not take the rebuild');
    expect(r.stdout).toMatch(/(Rendered|Built) \d+ files/);
    const release = /→ release (\S+) is live/.exec(r.stdout)?.[1];
    expect(await currentRelease()).toBe(release);
    expect(await fs.readFile(path.join(dist(), 'releases', release!, 'client', 'blog', post.slug, 'index.html'), 'utf8')).toContain('Built with no server');

    const after = await openDatabase({ kind: 'pglite', dir: dataDir() });
    try {
      // Nothing was queued for a server: the command did not ask one (nor wait for it).
      expect(Number((await after.db.selectFrom('build_requests').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)).toBe(requestsBefore);
    } finally {
      await after.close();
    }
  });
});
