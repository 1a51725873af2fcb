/**
 * Ghost sync benchmark: `npm run bench -- --only ghost --ghost-posts 1000`.
 * Starts a real local Ghost (the test harness), creates N posts through the Admin API,
 * then times a full `rose ghost sync` into a fresh embedded database (target ≤ 10 s for
 * 1,000 posts) and an incremental sync after one edit.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGhost } from '@rose/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'ghost-posts': { type: 'string', default: '1000' } }, strict: false });
const count = Number(values['ghost-posts']);
if (!Number.isInteger(count) || count < 1 || count > 20_000) {
  console.error('--ghost-posts must be a whole number from 1 to 20000');
  process.exit(2);
}
const log = (s: string) => process.stdout.write(`${s}\n`);

log(`Ghost sync benchmark — ${count} posts`);
const ghost = await startGhost({ log: (line) => log(`  ${line}`) });
const scratch = path.join(root, '.rose', 'bench', `ghost-${Date.now()}`);
try {
  let t0 = performance.now();
  const ids: { id: string; updated_at: string }[] = [];
  let next = 0;
  // Eight writers at once: creating the posts is set-up, not what is measured.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const i = next++;
        const res = await ghost.admin<{ posts: { id: string; updated_at: string }[] }>('POST', '/posts/?source=html', {
          posts: [{ title: `Bench post ${i}`, status: 'published', html: `<p>${'Words of the co-op. '.repeat(60)}</p><p>Post ${i}.</p>`, tags: [{ name: `Tag ${i % 12}` }] }],
        });
        ids[i] = res.posts[0]!;
      }
    }),
  );
  log(`  created ${count} posts in Ghost in ${((performance.now() - t0) / 1000).toFixed(1)} s (set-up)`);

  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ROSE_DATA_DIR: path.join(scratch, 'data'),
    ROSE_DIST_DIR: path.join(scratch, 'dist'),
    ROSE_LOG_LEVEL: 'warn',
    GHOST_URL: ghost.url,
    GHOST_CONTENT_KEY: ghost.contentKey,
  };
  const rose = (args: string[]) =>
    new Promise<{ seconds: number; out: string }>((resolve, reject) => {
      const started = performance.now();
      let out = '';
      const child = spawn(process.execPath, [path.join(root, 'cli', 'bin', 'rose.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => (code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, out }) : reject(new Error(`rose ${args.join(' ')} failed:\n${out}`))));
    });
  await rose(['db', 'migrate']);
  const full = await rose(['ghost', 'sync']);
  log(`  ${full.out.trim().split('\n').at(-1)}`);
  await ghost.admin('PUT', `/posts/${ids[0]!.id}/?source=html`, { posts: [{ title: 'Bench post 0, edited', updated_at: ids[0]!.updated_at }] });
  const incremental = await rose(['ghost', 'sync']);
  log(`  ${incremental.out.trim().split('\n').at(-1)}`);
  log('');
  log(`  full sync of ${count} posts (process start to exit): ${full.seconds.toFixed(2)} s   target ≤ 10 s  ${full.seconds <= 10 ? 'OK' : 'OVER'}`);
  log(`  incremental sync after one edit:                    ${incremental.seconds.toFixed(2)} s`);
} finally {
  await ghost.stop();
  await fs.rm(scratch, { recursive: true, force: true });
}
