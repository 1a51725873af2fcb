/**
 * Edit-to-live benchmark: `npm run bench -- --only live --posts 10000`.
 *
 * 1. Seeds N generated posts into a fresh embedded database and builds a release.
 * 2. Starts `rose serve` (with its in-process worker) and a local stand-in for Ghost's
 *    Content API that answers with one post as Ghost does.
 * 3. Each run changes that post's title in the stand-in, sends a signed Ghost webhook and
 *    polls the served post page until it shows the new title; then checks its neighbour and
 *    the blog index show it too (they are switched in together). The first run creates the
 *    post and warms the renderer; later runs are what an editor sees.
 * 4. With the server still running, edits a post in the database (over the server's socket,
 *    as any `rose` command or psql would) and times `rose build --targeted` from a new process,
 *    which hands the rebuild to the server: until the served page shows the edit, and until
 *    the command exits.
 * 5. Stops the server and times `rose build --targeted` again: the command builds itself.
 * Target: webhook or CLI → live ≤ 1 s at 10,000 posts. Prints medians and the ratios.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seedContent } from '@rose/blog';
import { createMigrations, openPglite } from '@rose/db';
import { signGhostPayload } from '@rose/ghost';
import { freePort, runRose, startRose } from '@rose/testing';
import { generatedBody, generatedBundle } from './generated-posts.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { posts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' }, keep: { type: 'boolean', default: false } }, strict: false });
const posts = Number(values.posts);
const runs = Number(values.runs);
if (!Number.isInteger(posts) || posts < 10 || posts > 200_000) throw new Error('--posts must be a whole number from 10 to 200000');
if (!Number.isInteger(runs) || runs < 2 || runs > 50) throw new Error('--runs must be a whole number from 2 to 50');
const log = (s: string) => process.stdout.write(`${s}\n`);
const scratch = path.join(root, '.rose', 'bench', `live-${Date.now()}`);
const dataDir = path.join(scratch, 'data');
await fs.mkdir(scratch, { recursive: true });

log(`Rose Ash edit-to-live benchmark — ${posts} posts (scratch: ${path.relative(root, scratch)})`);
let t = performance.now();
const handle = await openPglite({ dir: path.join(dataDir, 'pglite') });
await createMigrations(handle.db, path.join(root, 'migrations')).migrateToLatest();
await seedContent(handle.db, generatedBundle(posts));
await handle.close();
log(`  seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

// The post Ghost will send: in the middle of the generated range, so it has neighbours.
const ghostId = 'b0b0b0b0b0b0b0b0b0b0b0b0';
const author = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1', name: 'Ghost Writer', slug: 'ghost-writer', profile_image: null, cover_image: null, bio: null, website: null, location: null, url: 'http://ghost.invalid/author/ghost-writer/' };
const publishedAt = new Date(Date.UTC(2020, 0, 1) + Math.floor(posts / 2) * 3_600_000 + 1_800_000).toISOString();
let title = 'Ghost post';
const ghostPost = () => ({
  id: ghostId,
  uuid: '0b6f2a1e-4c7d-4a8e-9f10-2b3c4d5e6f70',
  slug: 'ghost-post',
  title,
  html: generatedBody(7),
  excerpt: 'A post from Ghost.',
  custom_excerpt: null,
  feature_image: null,
  feature_image_alt: null,
  featured: false,
  visibility: 'public',
  published_at: publishedAt,
  created_at: publishedAt,
  updated_at: new Date().toISOString(),
  tags: [],
  authors: [author],
  primary_tag: null,
  primary_author: author,
});
const ghost = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const items = url.pathname.endsWith('/posts/') ? [ghostPost()] : [];
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ [url.pathname.includes('pages') ? 'pages' : 'posts']: items, meta: { pagination: { page: 1, limit: 100, pages: 1, total: items.length, next: null, prev: null } } }));
});
await new Promise<void>((r) => ghost.listen(0, '127.0.0.1', r));
const secret = randomBytes(24).toString('hex');
// One site URL for every command: a release built for another origin is built again, not
// re-rendered (the origin is baked into pages), so the first build, the server and the CLI's
// targeted build must agree on it.
const port = await freePort();
const env = {
  ROSE_SITE_URL: `http://127.0.0.1:${port}`,
  ROSE_DATA_DIR: dataDir,
  ROSE_DIST_DIR: path.join(scratch, 'dist'),
  ROSE_LOG_LEVEL: 'warn',
  GHOST_URL: `http://127.0.0.1:${(ghost.address() as AddressInfo).port}`,
  GHOST_CONTENT_KEY: 'a'.repeat(26),
  GHOST_WEBHOOK_SECRET: secret,
};
t = performance.now();
const built = await runRose(['build'], env, { timeoutMs: 1_800_000 });
if (built.code !== 0) throw new Error(`rose build failed:\n${built.stderr}`);
log(`  first build (Astro) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], { ...env, ROSE_LOG_LEVEL: 'info' }, { timeoutMs: 300_000 });
const page = (p: string) => fetch(new URL(p, server.url)).then((r) => (r.ok ? r.text() : ''));
const send = async () => {
  const body = JSON.stringify({ post: { current: { id: ghostId, title }, previous: {} } });
  const res = await fetch(new URL('/api/ghost/webhook', server.url), { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Ghost-Signature': signGhostPayload(body, secret, new Date()) }, body });
  if (!res.ok) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
};
const times: number[] = [];
const cliServed: number[] = [];
const cliExited: number[] = [];
const completions: number[] = [];
const cpuLive: number[] = [];
const rebuildsLogged = () => server.output().split('\n').filter((l) => l.includes('"rebuild live"')).length;
// The server's own account of its last rebuild (pino JSON lines at info level).
const lastRebuild = () => {
  const line = server
    .output()
    .split('\n')
    .filter((l) => l.includes('"rebuild live"'))
    .at(-1);
  return line ? (JSON.parse(line) as { timings: Record<string, number>; liveMs?: number; liveCpuMs?: number }) : undefined;
};
const serverPhases = () => {
  const logged = lastRebuild();
  return logged ? `${Object.entries(logged.timings).map(([k, v]) => `${k} ${v} ms`).join(', ')}; until served ${logged.liveMs} ms wall, ${logged.liveCpuMs} ms CPU` : '';
};
try {
  for (let run = 0; run <= runs; run++) {
    title = `Edited title ${run} ${randomBytes(3).toString('hex')}`;
    const rebuildsBefore = rebuildsLogged();
    const started = performance.now();
    await send();
    for (;;) {
      if ((await page('/blog/ghost-post/')).includes(title)) break;
      if (performance.now() - started > 120_000) throw new Error(`the edit did not go live within 2 minutes:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - started) / 1000;
    // One edit at a time, as an editor makes them: the rest of the release is linked in after
    // the pages are live; the next edit waits until that is done.
    while (rebuildsLogged() === rebuildsBefore) {
      if (performance.now() - started > 600_000) throw new Error('the release was not completed within 10 minutes');
      await new Promise((r) => setTimeout(r, 20));
    }
    const completed = (performance.now() - started) / 1000;
    const [index, neighbour] = await Promise.all([page('/blog/'), page(`/blog/post-${Math.floor(posts / 2)}/`)]);
    const together = neighbour.includes(title) && (posts > 20 || index.includes(title));
    times.push(seconds);
    completions.push(completed);
    const logged = lastRebuild();
    if (logged?.liveCpuMs !== undefined && run > 0) cpuLive.push(logged.liveCpuMs / 1000);
    const phases = serverPhases();
    log(`  run ${run}${run === 0 ? ' (creates the post, warms the renderer)' : ''}: live in ${seconds.toFixed(3)} s (release complete and current after ${completed.toFixed(1)} s)${together ? ', neighbour page switched in with it' : ' — neighbour NOT updated'}`);
    if (phases) log(`    server: ${phases}`);
  }
  // The CLI while the server runs: each run edits another post's title in the database (no
  // updated_at bump: the server finds changed rows by their versions) and runs the command.
  for (let run = 0; run < runs; run++) {
    const slug = `post-${Math.floor(posts / 3) + run}`;
    const edited = `Edited from the CLI ${run} ${randomBytes(3).toString('hex')}`;
    const db = await openPglite({ dir: path.join(dataDir, 'pglite') });
    await db.db.updateTable('blog_posts').set({ title: edited }).where('slug', '=', slug).execute();
    await db.close();
    const rebuildsBefore = rebuildsLogged();
    const started = performance.now();
    const command = runRose(['build', '--targeted'], env, { timeoutMs: 600_000 }).then((r) => ({ ...r, seconds: (performance.now() - started) / 1000 }));
    let servedAfter: number | undefined;
    for (;;) {
      if ((await page(`/blog/${slug}/`)).includes(edited)) {
        servedAfter = (performance.now() - started) / 1000;
        break;
      }
      if (performance.now() - started > 120_000) throw new Error(`the CLI's edit did not go live within 2 minutes:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const done = await command;
    if (done.code !== 0) throw new Error(`rose build --targeted failed:\n${done.stderr}`);
    const handedOver = done.stdout.includes('running server');
    cliServed.push(servedAfter);
    cliExited.push(done.seconds);
    while (rebuildsLogged() === rebuildsBefore) {
      if (performance.now() - started > 600_000) throw new Error('the release was not completed within 10 minutes');
      await new Promise((r) => setTimeout(r, 20));
    }
    log(`  CLI run ${run}: served after ${servedAfter.toFixed(3)} s, command exited after ${done.seconds.toFixed(3)} s${handedOver ? ' (handed to the running server)' : ' — NOT handed over: built in the command'}`);
    const phases = serverPhases();
    if (phases) log(`    server: ${phases}`);
  }
} finally {
  await server.stop();
  ghost.close();
}
const steady = times.slice(1).sort((a, b) => a - b);
const median = steady[Math.floor(steady.length / 2)]!;

// No server: one post edited in the database, then `rose build --targeted` builds in its own process.
const db = await openPglite({ dir: path.join(dataDir, 'pglite') });
await db.db.updateTable('blog_posts').set({ title: 'Edited from the CLI', updated_at: new Date() }).where('slug', '=', `post-${Math.floor(posts / 3)}`).execute();
await db.close();
t = performance.now();
const cli = await runRose(['build', '--targeted'], env, { timeoutMs: 600_000 });
if (cli.code !== 0) throw new Error(`rose build --targeted failed:\n${cli.stderr}`);
const cliSeconds = (performance.now() - t) / 1000;

log('');
log(`  webhook → served page, ${posts} posts: median ${median.toFixed(3)} s over ${steady.length} runs (min ${steady[0]!.toFixed(3)}, max ${steady.at(-1)!.toFixed(3)}); first after start ${times[0]!.toFixed(3)} s`);
log(`  complete release on disk (what other servers and Caddy follow): median ${[...completions.slice(1)].sort((a, b) => a - b)[Math.floor((completions.length - 1) / 2)]!.toFixed(1)} s`);
if (cpuLive.length) {
  const c = [...cpuLive].sort((a, b) => a - b)[Math.floor(cpuLive.length / 2)]!;
  log(`  server CPU from webhook job to pages served: median ${c.toFixed(3)} s (on a busy machine the CPU figure is the steadier one; load average now ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
}
log(`  target ≤ 1 s: ratio ${median.toFixed(2)} ${median <= 1 ? '(met)' : '(NOT met)'}`);
const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const served = mid(cliServed);
const exited = mid(cliExited);
log(`  rose build --targeted with the server running (new process; served page / command exit), ${posts} posts: median ${served.toFixed(3)} s / ${exited.toFixed(3)} s over ${cliServed.length} runs (max ${Math.max(...cliServed).toFixed(3)} / ${Math.max(...cliExited).toFixed(3)})`);
log(`  target ≤ 1 s: ratio ${Math.max(served, exited).toFixed(2)} ${Math.max(served, exited) <= 1 ? '(met)' : '(NOT met)'}`);
log(`  rose build --targeted with no server (the command opens the database, reads every part, loads the renderer and links the release itself): ${cliSeconds.toFixed(2)} s`);
if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });
