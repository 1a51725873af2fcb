import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyPostgresDatabase, freePort, makeProjectTempDir, repoRoot, runRose, startRose, testRedisUrl, type RunningRose } from '@rose/testing';

const password = 'Hedgerow-Blackthorn-Sloe-47';
const membersSentence = 'MEMBERS-ONLY SENTENCE: the board agreed the new till budget.';
const paidSentence = 'PAID-ONLY SENTENCE: wholesale prices for next year.';

const post = (front: Record<string, string>, body: string) =>
  `---\n${Object.entries(front)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n')}\nauthors: ["eleanor-hayes"]\n---\n${body}\n`;

// Members-only posts on a built and served site (Postgres + Redis): the static page carries
// only the public teaser; the rest comes from a server island that checks the session and
// the member's tier on every request and is never cached for anyone else.
// Tests run several `rose` processes each: on a busy machine that is more than vitest's default.
describe('members-only posts', { timeout: 180_000 }, () => {
  let tmp: string;
  let env: Record<string, string>;
  let server: RunningRose;
  let dropDb: () => Promise<void>;
  const namespace = `rose-test-${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(testRedisUrl, { lazyConnect: true });

  const get = (p: string, cookie?: string) => fetch(new URL(p, server.url), { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const signIn = async (email: string) => {
    const res = await fetch(new URL('/auth/login', server.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(server.url).origin },
      body: new URLSearchParams({ email, password }),
    });
    expect(res.status).toBe(303);
    return `rose_session=${/rose_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')![1]}`;
  };
  /** The members-content island of a post page, fetched as the given visitor. */
  const island = async (slug: string, cookie?: string) => {
    const page = await (await get(`/blog/${slug}/`)).text();
    const islandPath = /href="(\/_server-islands\/MembersContent[^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
    expect(islandPath, 'the page has a members-content server island').toBeDefined();
    const res = await get(islandPath!, cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    return res.text();
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('members');
    const content = path.join(tmp, 'content');
    await fs.cp(path.join(repoRoot, 'content'), content, { recursive: true });
    await fs.writeFile(
      path.join(content, 'posts', 'board-meeting-notes.md'),
      post({ title: 'Board meeting notes', date: '2026-10-01T09:00:00Z', visibility: 'members', excerpt: 'What the board decided in September.' }, `The board met on a wet Tuesday in the chapel hall.\n\n<!--members-only-->\n\n${membersSentence}\n`),
    );
    await fs.writeFile(
      path.join(content, 'posts', 'supplier-price-list.md'),
      post({ title: 'Supplier price list', date: '2026-10-02T09:00:00Z', visibility: 'paid' }, `Our suppliers sent their lists.\n\n<!--members-only-->\n\n${paidSentence}\n`),
    );
    const database = await createEmptyPostgresDatabase();
    dropDb = database.drop;
    const port = await freePort();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl,
      ROSE_CACHE_NAMESPACE: namespace,
      ROSE_DATA_DIR: path.join(tmp, '.rose'),
      ROSE_DIST_DIR: path.join(tmp, 'dist'),
      ROSE_CONTENT_DIR: content,
      ROSE_SITE_URL: `http://127.0.0.1:${port}`,
    };
    for (const args of [['db', 'migrate'], ['db', 'seed'], ['build']]) {
      const r = await runRose(args, env, { timeoutMs: 240_000 });
      if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed:\n${r.stderr}`);
    }
    for (const [email, name] of [
      ['ann@example.org', 'Ann Free'],
      ['pat@example.org', 'Pat Paying'],
    ] as const) {
      const r = await runRose(['users', 'create', '--email', email, '--name', name, '--password-stdin'], env, { stdin: password });
      if (r.code !== 0) throw new Error(r.stderr);
    }
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
  });

  afterAll(async () => {
    await server?.stop();
    await dropDb?.();
    await redis.connect().catch(() => {});
    const keys = await redis.keys(`${namespace}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('never writes a members-only sentence into the release; the static page has the teaser', async () => {
    const dist = path.join(tmp, 'dist');
    const hits: string[] = [];
    let files = 0;
    for (const entry of await fs.readdir(dist, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      files++;
      const file = path.join(entry.parentPath, entry.name);
      const text = await fs.readFile(file, 'latin1');
      if (text.includes('MEMBERS-ONLY SENTENCE') || text.includes('PAID-ONLY SENTENCE')) hits.push(path.relative(dist, file));
    }
    expect(files).toBeGreaterThan(50); // the static pages and the server bundle
    expect(hits).toEqual([]);
    const page = await (await get('/blog/board-meeting-notes/')).text();
    expect(page).toContain('The board met on a wet Tuesday in the chapel hall.');
    expect(page).toContain('data-testid="members-only"');
  });

  it('shows anonymous readers the teaser and a sign-in prompt that comes back to the post', async () => {
    const html = await island('board-meeting-notes');
    expect(html).toContain('data-testid="members-sign-in"');
    expect(html).toContain('/auth/login?return_to=%2Fblog%2Fboard-meeting-notes%2F');
    expect(html).not.toContain('MEMBERS-ONLY');
  });

  it('shows a signed-in member the members-only part, and nobody else gets it from a cache', async () => {
    const ann = await signIn('ann@example.org');
    const html = await island('board-meeting-notes', ann);
    expect(html).toContain('data-testid="members-body"');
    expect(html).toContain(membersSentence);
    // Straight after, an anonymous visitor still gets the prompt, not Ann's fragment.
    expect(await island('board-meeting-notes')).not.toContain('MEMBERS-ONLY');
    await redis.connect().catch(() => {});
    for (const key of await redis.keys(`${namespace}*`)) {
      const value = (await redis.type(key)) === 'string' ? await redis.get(key) : '';
      expect(value ?? '', key).not.toContain('MEMBERS-ONLY');
    }
  });

  it('a paid post: a free member sees an upgrade note, a member staff marked as paying sees it', async () => {
    const ann = await signIn('ann@example.org');
    const pat = await signIn('pat@example.org');
    expect(await island('supplier-price-list', pat)).toContain('data-testid="members-upgrade"');

    const marked = await runRose(['users', 'set-tier', '--email', 'PAT@example.org', '--tier', 'paid'], env);
    expect(marked.code, marked.stderr).toBe(0);
    expect(marked.stdout).toContain('PAT@example.org is now a paid member (was free).');
    const list = await runRose(['users', 'list'], env);
    expect(list.stdout).toMatch(/pat@example\.org\s+member\s+paid /);
    expect(list.stdout).toMatch(/ann@example\.org\s+member\s+free /);
    const paid = await island('supplier-price-list', pat);
    expect(paid).toContain(paidSentence);
    const free = await island('supplier-price-list', ann);
    expect(free).toContain('data-testid="members-upgrade"');
    expect(free).not.toContain('PAID-ONLY');

    const back = await runRose(['users', 'set-tier', '--email', 'pat@example.org', '--tier', 'free'], env);
    expect(back.stdout).toContain('is now a free member (was paid)');
    expect(await island('supplier-price-list', pat)).toContain('data-testid="members-upgrade"');
  });

  it('set-tier refuses an unknown address and an unknown tier with a hint', async () => {
    const nobody = await runRose(['users', 'set-tier', '--email', 'nobody@example.org', '--tier', 'paid'], env);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('There is no account for nobody@example.org.');
    expect(nobody.stderr).toContain('rose users list');
    const gold = await runRose(['users', 'set-tier', '--email', 'pat@example.org', '--tier', 'gold'], env);
    expect(gold.code).not.toBe(0);
    expect(gold.stderr).toMatch(/Allowed choices are free, paid/);
  });
});
