/**
 * The embedded database over the owner's socket vs in the owning process:
 * `npm run bench -- --only socket [--posts N] [--runs R]`.
 *
 * For the demo content (content/) and for N generated posts (default 10000; 0 skips), this
 * process opens the data dir (it owns PGlite), migrates and seeds it, then times, `--runs`
 * times each (medians):
 * - the snapshot read every `rose build` starts with (migrations check + the blog snapshot),
 * - one small query (a post by slug), 200 times in a row,
 * first here (direct PGlite), then in a child process that reaches the same database through
 * this process's unix socket, as `rose build` does while `rose serve` runs.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBlogSnapshot, loadContent, seedContent } from '@rose/blog';
import { createMigrations, openPglite, type DatabaseHandle } from '@rose/db';
import { generatedBundle } from './generated-posts.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { posts: { type: 'string', default: '10000' }, runs: { type: 'string', default: '7' }, client: { type: 'string' }, keep: { type: 'boolean', default: false } }, strict: false });
const runs = Number(values.runs);
const log = (s: string) => process.stdout.write(`${s}\n`);

interface Timings {
  role: string;
  snapshotMs: number[];
  queryMs: number[];
  posts: number;
  rssMiB: number;
}

async function time(handle: DatabaseHandle): Promise<Timings> {
  const migrations = createMigrations(handle.db, path.join(root, 'migrations'));
  const read = async () => {
    await migrations.assertCurrent();
    return loadBlogSnapshot(handle.db);
  };
  const first = await read(); // warm-up: caches, JIT, the connection
  const slug = first.posts[Math.floor(first.posts.length / 2)]!.slug;
  const snapshotMs: number[] = [];
  const queryMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await read();
    snapshotMs.push(performance.now() - t);
    t = performance.now();
    for (let k = 0; k < 200; k++) await handle.db.selectFrom('blog_posts').select(['id', 'title']).where('slug', '=', slug).executeTakeFirst();
    queryMs.push((performance.now() - t) / 200);
  }
  return { role: handle.embedded?.role ?? 'postgres', snapshotMs, queryMs, posts: first.posts.length, rssMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

if (values.client) {
  // The child: reaches the parent's database over its socket.
  const handle = await openPglite({ dir: values.client as string });
  try {
    process.stdout.write(`${JSON.stringify(await time(handle))}\n`);
  } finally {
    await handle.close();
  }
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const scratch = path.join(root, '.rose', 'bench', `socket-${Date.now()}`);
await fs.mkdir(scratch, { recursive: true });

function timeInChild(dir: string): Promise<Timings> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', dir, '--runs', String(runs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Timings) : reject(new Error(`client exited with ${code}: ${out}`))));
  });
}

async function dataset(name: string, bundle: Awaited<ReturnType<typeof loadContent>>): Promise<void> {
  const dir = path.join(scratch, name, 'pglite');
  const handle = await openPglite({ dir });
  try {
    await createMigrations(handle.db, path.join(root, 'migrations')).migrateToLatest();
    await seedContent(handle.db, bundle);
    const direct = await time(handle);
    const socket = await timeInChild(dir);
    if (socket.role !== 'client') throw new Error(`the child was ${socket.role}, not a client`);
    const row = (what: string, d: number[], s: number[], unit: string) =>
      log(`  ${what.padEnd(34)} direct ${median(d).toFixed(unit === 'ms' ? 1 : 3).padStart(8)} ${unit}   over the socket ${median(s).toFixed(unit === 'ms' ? 1 : 3).padStart(8)} ${unit}   ×${(median(s) / median(d)).toFixed(2)}`);
    log(`${name}: ${direct.posts} posts`);
    row('snapshot read (what rose build does)', direct.snapshotMs, socket.snapshotMs, 'ms');
    row('one post by slug', direct.queryMs, socket.queryMs, 'ms');
    log(`  peak RSS: owner ${direct.rssMiB} MiB, client ${socket.rssMiB} MiB`);
  } finally {
    await handle.close();
  }
}

log(`Embedded database: in the owning process vs over its socket — ${runs} runs each, medians (scratch: ${path.relative(root, scratch)})`);
await dataset('demo', await loadContent(path.join(root, 'content')));
const posts = Number(values.posts);
if (posts > 0) await dataset(`generated-${posts}`, generatedBundle(posts));
if (!values.keep) await fs.rm(scratch, { recursive: true, force: true });
