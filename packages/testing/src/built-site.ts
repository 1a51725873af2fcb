import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runRose } from './cli.ts';
import { processAlive, withDirLock } from './dir-lock.ts';
import { repoRoot } from './paths.ts';

/** The site URL the shared build is made with: its canonical links and feeds name it. */
export const builtSiteUrl = 'http://127.0.0.1:4321';

/** What a built site depends on; test files are left out (they change no page). */
const inputs = ['astro.config.ts', 'package-lock.json', 'cli', 'content', 'migrations', 'packages', 'sites'];
const cacheRoot = path.join(repoRoot, '.rose', 'test-cache');
// A copy starts from the folder a moment after a newer one is published: keep old ones a while.
const keepOldMs = 60 * 60 * 1000;

/** Size and mtime of every input file: a different checkout state gets a different site. */
async function inputsHash(): Promise<string> {
  const hash = createHash('sha256').update(process.version);
  const walk = async (rel: string): Promise<void> => {
    const stat = await fs.stat(path.join(repoRoot, rel)).catch(() => undefined);
    if (!stat) return;
    if (!stat.isDirectory()) {
      hash.update(`${rel}\0${stat.size}\0${stat.mtimeMs}\n`);
      return;
    }
    for (const name of (await fs.readdir(path.join(repoRoot, rel))).sort()) {
      if (name === 'node_modules' || name.startsWith('.') || name.endsWith('.test.ts')) continue;
      await walk(path.join(rel, name));
    }
  };
  for (const input of inputs) await walk(input);
  return hash.digest('hex').slice(0, 16);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * The demo site, migrated, seeded from content/ and built on the embedded database, made
 * once for the current code and content and kept under `.rose/test-cache/` (inside the
 * project: the built server resolves its packages from the project's node_modules). Test
 * files that need "a built site to serve" copy it (`copyBuiltSite`) instead of each running
 * migrate, seed and an Astro build. Parallel test files wait for one build (a lock); it is
 * published by a rename, so a copy never sees half of it.
 */
export async function prepareBuiltSite(log: (line: string) => void = () => {}): Promise<string> {
  const dir = path.join(cacheRoot, `built-site-${await inputsHash()}`);
  if (await exists(dir)) return dir;
  await fs.mkdir(cacheRoot, { recursive: true });
  return withDirLock(`${dir}.lock`, (line) => log(`built site: ${line}`), async () => {
    if (await exists(dir)) return dir;
    const work = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const env = { ROSE_DATA_DIR: path.join(work, 'data'), ROSE_DIST_DIR: path.join(work, 'dist'), ROSE_CONTENT_DIR: path.join(repoRoot, 'content'), ROSE_SITE_URL: builtSiteUrl };
    try {
      for (const args of [['db', 'migrate'], ['db', 'seed'], ['build']]) {
        const r = await runRose(args, env, { timeoutMs: 600_000 });
        if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed while preparing the shared built site:\n${r.stderr}`);
      }
      await fs.rename(work, dir);
    } catch (error) {
      await fs.rm(work, { recursive: true, force: true });
      throw error;
    }
    await removeOldSites(dir);
    return dir;
  });
}

async function removeOldSites(keep: string): Promise<void> {
  for (const name of await fs.readdir(cacheRoot)) {
    const full = path.join(cacheRoot, name);
    if (full === keep || !name.startsWith('built-site-') || name.endsWith('.lock')) continue;
    const pid = /\.tmp-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined ? processAlive(Number(pid)) : Date.now() - (await fs.stat(full)).mtimeMs < keepOldMs) continue;
    await fs.rm(full, { recursive: true, force: true });
  }
}

/**
 * Copies the shared built site (see `prepareBuiltSite`) into `into`: the data folder
 * (embedded database, Astro key) as `.rose/` and the releases as `dist/`. Returns the
 * settings that point `rose` at them; add ROSE_SITE_URL and the rest yourself. The pages
 * were built with `builtSiteUrl` as the site's URL.
 *
 * @example
 * const env = { ...(await copyBuiltSite(tmp)), ROSE_SITE_URL: `http://127.0.0.1:${port}` };
 * const server = await startRose(['serve', '--port', String(port)], env);
 */
export async function copyBuiltSite(into: string): Promise<{ ROSE_DATA_DIR: string; ROSE_DIST_DIR: string; ROSE_CONTENT_DIR: string }> {
  const from = await prepareBuiltSite();
  const dataDir = path.join(into, '.rose');
  const distDir = path.join(into, 'dist');
  // Not the traces of a process that had the database open (none has now).
  const ownership = /[/\\]pglite(\.lock|\.socket\.json|-socket)$/;
  await fs.cp(path.join(from, 'data'), dataDir, { recursive: true, preserveTimestamps: true, filter: (source) => !ownership.test(source) });
  // Timestamps kept: a precompressed variant counts only with its page's mtime (static-files).
  await fs.cp(path.join(from, 'dist'), distDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  return { ROSE_DATA_DIR: dataDir, ROSE_DIST_DIR: distDir, ROSE_CONTENT_DIR: path.join(repoRoot, 'content') };
}

/**
 * The built demo site as `rose deploy` of `target` would have left it on this machine: its
 * dist folder as `<data>/deploy/<target>/dist` (the release last shipped, so the next deploy's
 * build is warm), and a copy of `content/` the test may edit. Returns the local settings, that
 * folder and its live release.
 */
export async function copyBuiltSiteForDeploy(into: string, target: string): Promise<{ settings: { ROSE_DATA_DIR: string; ROSE_CONTENT_DIR: string }; staging: string; release: { id: string; dir: string } }> {
  const built = await copyBuiltSite(into);
  const content = path.join(into, 'content');
  await fs.cp(path.join(repoRoot, 'content'), content, { recursive: true });
  const staging = path.join(built.ROSE_DATA_DIR, 'deploy', target, 'dist');
  await fs.mkdir(path.dirname(staging), { recursive: true });
  await fs.rename(built.ROSE_DIST_DIR, staging);
  const id = path.basename(await fs.readlink(path.join(staging, 'current')));
  return { settings: { ROSE_DATA_DIR: built.ROSE_DATA_DIR, ROSE_CONTENT_DIR: content }, staging, release: { id, dir: path.join(staging, 'releases', id) } };
}
