import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RoseError, systemClock, type Clock } from '@rose/core';

export interface ReleaseManifest {
  id: string;
  createdAt: string;
  pages: number;
  seconds: number;
  parts: string[];
  /** Hash of the source the release was built from; a targeted rebuild needs the same. */
  codeHash?: string;
  /** 'full', or 'targeted' with the number of pages rendered. */
  kind?: 'full' | 'targeted';
  rendered?: number;
}

export interface Release extends ReleaseManifest {
  dir: string;
  current: boolean;
}

/** A release folder whose `release.json` cannot be read: listed, never made live. */
export interface DamagedRelease {
  id: string;
  dir: string;
  current: boolean;
  /** What is wrong with its manifest, e.g. `release.json is not valid JSON (…)`. */
  problem: string;
}

export interface StagedRelease {
  id: string;
  /** The folder to build into. */
  dir: string;
}

export interface ReleaseStore {
  /** Creates an empty release folder to build into. */
  stage(): Promise<StagedRelease>;
  /** Writes the manifest and points `current` at the release atomically. */
  publish(staged: StagedRelease, manifest: Omit<ReleaseManifest, 'id' | 'createdAt'>, extra?: { pageKeys?: Record<string, string> }): Promise<void>;
  /**
   * Deletes all but the newest `keep` releases (never the current one) and leftovers of
   * crashed builds. Separate from `publish` so a new release is live before old ones go.
   */
  prune(): Promise<{ pruned: string[] }>;
  /** Removes a staged release that will not be published (a failed build). */
  discard(staged: StagedRelease): Promise<void>;
  /** Newest first. Incomplete folders (no manifest) and damaged ones are not in it. */
  list(): Promise<Release[]>;
  /** Release folders whose manifest is unreadable or malformed, newest first. */
  damaged(): Promise<DamagedRelease[]>;
  /** The live release, or undefined before the first build. */
  current(): Promise<Release | undefined>;
  /** Points `current` at `id`, or at the release before the current one; never at a damaged one. */
  rollback(id?: string): Promise<{ from: string | undefined; to: string }>;
  readonly currentLink: string;
}

const ID_PATTERN = /^\d{8}T\d{9}Z-[0-9a-f]{4}$/;

/**
 * Release folders under `<distDir>/releases` and the `<distDir>/current` symlink.
 *
 * @example
 * const store = createReleaseStore({ distDir: config.distDir });
 * const staged = await store.stage();
 * await buildInto(staged.dir);
 * await store.publish(staged, { pages, seconds, parts });
 */
export function createReleaseStore(opts: { distDir: string; keep?: number; clock?: Clock }): ReleaseStore {
  const clock = opts.clock ?? systemClock;
  const keep = Math.max(opts.keep ?? 5, 2);
  const releasesDir = path.join(opts.distDir, 'releases');
  const currentLink = path.join(opts.distDir, 'current');

  const readCurrentId = async (): Promise<string | undefined> => {
    try {
      return path.basename(await fs.readlink(currentLink));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if ((error as NodeJS.ErrnoException).code === 'EINVAL') {
        throw new RoseError({
          code: 'release-layout',
          title: 'Unexpected output folder',
          message: `${currentLink} exists but is not a symlink to a release.`,
          hint: `Move it away; \`rose build\` manages ${opts.distDir} itself.`,
        });
      }
      throw error;
    }
  };

  const switchCurrent = async (id: string) => {
    // A new symlink renamed over the old one: readers follow either the old or the new.
    const tmp = `${currentLink}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.symlink(path.join('releases', id), tmp);
    await fs.rename(tmp, currentLink);
  };

  const readManifest = (id: string) => readManifestFile(path.join(releasesDir, id));
  /** Release folders by what their manifest says, newest first. */
  const scan = async () => {
    let names: string[];
    try {
      names = await fs.readdir(releasesDir);
    } catch {
      return { releases: [] as Release[], damaged: [] as DamagedRelease[] };
    }
    const currentId = await readCurrentId();
    const releases: Release[] = [];
    const damaged: DamagedRelease[] = [];
    for (const name of names.filter((n) => ID_PATTERN.test(n)).sort().reverse()) {
      const read = await readManifest(name);
      const common = { id: name, dir: path.join(releasesDir, name), current: name === currentId };
      if (read.kind === 'ok') releases.push({ ...read.manifest, ...common });
      else if (read.kind === 'damaged') damaged.push({ ...common, problem: read.problem });
    }
    return { releases, damaged };
  };

  const store: ReleaseStore = {
    currentLink,
    async stage() {
      const now = clock.now();
      const id = `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${randomBytes(2).toString('hex')}`;
      const dir = path.join(releasesDir, id);
      await fs.mkdir(dir, { recursive: true });
      return { id, dir };
    },
    async publish(staged, manifest, extra) {
      const full: ReleaseManifest = { id: staged.id, createdAt: clock.now().toISOString(), ...manifest };
      if (extra?.pageKeys) await fs.writeFile(path.join(staged.dir, 'pages.json'), JSON.stringify(extra.pageKeys));
      await fs.writeFile(path.join(staged.dir, 'release.json'), `${JSON.stringify(full, null, 2)}\n`);
      await switchCurrent(staged.id);
    },
    async prune() {
      const { releases, damaged } = await scan();
      const newest = releases[0]?.id ?? '';
      const pruned: string[] = [];
      // Damaged releases take their place in the retention window like any other.
      const all = [...releases, ...damaged].sort((a, b) => (a.id < b.id ? 1 : -1));
      const doomed: string[] = [];
      for (const r of all.slice(keep)) {
        if (r.current) continue;
        doomed.push(r.dir);
        pruned.push(r.id);
      }
      for (const name of await fs.readdir(releasesDir).catch(() => [] as string[])) {
        // Leftovers of builds that crashed before publishing or discarding (no manifest), and
        // of a removal that was cut short.
        if ((ID_PATTERN.test(name) && (await readManifest(name)).kind === 'missing' && name < newest) || name.startsWith(prunedPrefix)) doomed.push(path.join(releasesDir, name));
      }
      await removeInBackground(releasesDir, doomed);
      return { pruned };
    },
    async discard(staged) {
      await fs.rm(staged.dir, { recursive: true, force: true });
    },
    async list() {
      return (await scan()).releases;
    },
    async damaged() {
      return (await scan()).damaged;
    },
    async current() {
      return (await store.list()).find((r) => r.current);
    },
    async rollback(id) {
      const { releases, damaged } = await scan();
      const current = releases.find((r) => r.current) ?? damaged.find((r) => r.current);
      let target: Release | undefined;
      if (id !== undefined) {
        if (id.trim() === '') {
          throw new RoseError({
            code: 'bad-argument',
            title: 'No release given',
            message: '--to needs a release id, but the value is empty.',
            hint: 'Run `rose release list` to see the releases you can switch to, or leave out --to to go back to the previous one.',
          });
        }
        const broken = damaged.find((r) => r.id === id);
        if (broken) {
          throw new RoseError({
            code: 'release-damaged',
            title: 'Damaged release',
            message: `Release ${id} cannot be made live: ${broken.problem}.`,
            hint: 'Pick another release from `rose release list`, or run `rose build` to make a new one.',
          });
        }
        target = releases.find((r) => r.id === id);
        if (!target) {
          throw new RoseError({
            code: 'release-not-found',
            title: 'No such release',
            message: `There is no release "${id}".`,
            hint: 'Run `rose release list` to see the releases you can switch to.',
          });
        }
      } else {
        // The newest good release older than the live one (damaged ones are skipped).
        target = current ? releases.find((r) => r.id < current.id) : releases[0];
        if (!target) {
          throw new RoseError({
            code: 'release-not-found',
            title: 'Nothing to roll back to',
            message: current ? `Release ${current.id} is the oldest one kept.` : 'There are no releases yet.',
            hint: 'Run `rose build` to make a release.',
          });
        }
      }
      await switchCurrent(target.id);
      return { from: current?.id, to: target.id };
    },
  };
  return store;
}

type ManifestRead = { kind: 'ok'; manifest: ReleaseManifest } | { kind: 'missing' } | { kind: 'damaged'; problem: string };

/** Reads `<dir>/release.json`: a manifest, none (a build in progress or crashed), or what is wrong with it. */
async function readManifestFile(dir: string): Promise<ManifestRead> {
  let raw: string;
  try {
    raw = await fs.readFile(path.join(dir, 'release.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'damaged', problem: `release.json cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    return { kind: 'damaged', problem: `release.json is not valid JSON (${(error as Error).message})` };
  }
  const m = data as Partial<Record<keyof ReleaseManifest, unknown>> | null;
  const wrong: string[] = [];
  if (!m || typeof m !== 'object' || Array.isArray(m)) return { kind: 'damaged', problem: 'release.json is not a JSON object' };
  if (typeof m.createdAt !== 'string' || Number.isNaN(Date.parse(m.createdAt))) wrong.push('createdAt');
  if (typeof m.pages !== 'number' || !Number.isFinite(m.pages)) wrong.push('pages');
  if (typeof m.seconds !== 'number' || !Number.isFinite(m.seconds)) wrong.push('seconds');
  if (!Array.isArray(m.parts) || !m.parts.every((p) => typeof p === 'string')) wrong.push('parts');
  if (wrong.length > 0) return { kind: 'damaged', problem: `release.json has a missing or malformed ${wrong.join(', ')}` };
  return { kind: 'ok', manifest: m as ReleaseManifest };
}

/** The page keys a release was built with (`pages.json`), if it has them. */
export async function readReleaseFile<T>(releaseDir: string, name: 'pages.json' | 'release.json'): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(releaseDir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Names of release folders on their way out (never an id: listings skip them). */
const prunedPrefix = '.pruned-';

/**
 * Removes release folders without making the build that pruned them wait: each is renamed
 * out of the listing at once (atomic), then a detached `rm -rf` deletes them. A release is
 * tens of thousands of files, and deleting them took 5–15 s on a busy disk, longer than the
 * rest of a targeted build. A removal cut short is finished by the next prune.
 */
async function removeInBackground(releasesDir: string, dirs: readonly string[]): Promise<void> {
  const moved: string[] = [];
  for (const dir of dirs) {
    const name = path.basename(dir);
    const target = name.startsWith(prunedPrefix) ? dir : path.join(releasesDir, `${prunedPrefix}${name}-${randomBytes(3).toString('hex')}`);
    if (target !== dir) {
      try {
        await fs.rename(dir, target);
      } catch (error) {
        // Another process pruning at the same time took it first.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
    }
    moved.push(target);
  }
  if (moved.length === 0) return;
  const inProcess = () => Promise.all(moved.map((d) => fs.rm(d, { recursive: true, force: true }))).catch(() => {});
  // At the lowest priority: tens of thousands of unlinks compete with the next rebuild (an
  // edit made right after this one) for the CPU otherwise.
  const commands: [string, string[]][] = [
    ['nice', ['-n', '19', 'rm', '-rf', '--', ...moved]],
    ['rm', ['-rf', '--', ...moved]],
  ];
  const start = (i: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const command = commands[i];
      // No `rm` here (not a Unix): delete them in this process instead.
      if (!command) return void inProcess().then(() => resolve());
      const rm = spawn(command[0], command[1], { detached: true, stdio: 'ignore' });
      rm.once('spawn', () => {
        rm.unref();
        resolve();
      });
      rm.once('error', () => void start(i + 1).then(resolve));
    });
  await start(0);
}
