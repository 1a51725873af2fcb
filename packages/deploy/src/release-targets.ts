import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { $ } from 'zx';
import { RoseError } from '@rose/core';
import { createReleaseStore } from '@rose/releases';
import type { LocalTargetConfig, SshTargetConfig } from './targets-config.ts';

/** What is on the far side: the live release and every complete release there. */
export interface FarSide {
  current: string | undefined;
  /** Newest first. */
  releases: string[];
}

export interface UploadStats {
  /** Files in the release. */
  files: number;
  /** Files actually sent (the rest were hard-linked to the previous release). */
  sent: number;
  /** Bytes of file data sent. */
  bytes: number;
}

/**
 * A place releases are shipped to and switched on: a folder on this machine, or one over
 * ssh. Its layout is a dist folder, as `rose build` makes one (`releases/<id>/`, `current`),
 * so the servers there follow `current` as they do locally.
 */
export interface ReleaseTarget {
  describe(): string;
  inspect(): Promise<FarSide>;
  /** Sends `dir` as release `id`; files unchanged since `linkTo` are hard-linked, not sent. */
  upload(release: { id: string; dir: string }, linkTo: string | undefined): Promise<UploadStats>;
  /** Points `current` at `id` in one rename; the far side sees the old release or the new one. */
  activate(id: string): Promise<void>;
  /** Deletes all but the newest `keep` releases, never the live one; returns their ids. */
  prune(keep: number): Promise<string[]>;
  /** Runs the target's restart command, when it has one. */
  restart(): Promise<boolean>;
}

const ID = /^\d{8}T\d{9}Z-[0-9a-f]{4}$/;

function checkId(id: string): string {
  if (!ID.test(id)) throw new Error(`not a release id: ${JSON.stringify(id)}`);
  return id;
}

/** rsync's `--stats` lines (with `--no-human-readable`: plain numbers) → what was sent. */
export function parseRsyncStats(output: string): UploadStats {
  const num = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  return {
    // "Number of files: 120 (reg: 100, dir: 20)"
    files: num(/^Number of files: \d+ \(reg: (\d+)/m) || num(/^Number of files: (\d+)/m),
    sent: num(/^Number of regular files transferred: (\d+)/m),
    bytes: num(/^Total transferred file size: (\d+)/m),
  };
}

const rsyncBase = ['-a', '--delete', '--stats', '--no-human-readable'];

function failed(what: string, error: unknown, hint: string): RoseError {
  const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
  return new RoseError({ code: 'deploy-failed', title: 'Deploy step failed', message: `${what}: ${detail.split('\n').slice(-3).join(' / ')}`, hint, cause: error });
}

export function createLocalTarget(config: LocalTargetConfig): ReleaseTarget {
  const releasesDir = path.join(config.path, 'releases');
  const store = () => createReleaseStore({ distDir: config.path, keep: config.keep });
  return {
    describe: () => `the folder ${config.path}`,
    async inspect() {
      const releases = await store().list();
      return { current: releases.find((r) => r.current)?.id, releases: releases.map((r) => r.id) };
    },
    async upload(release, linkTo) {
      checkId(release.id);
      await fs.mkdir(releasesDir, { recursive: true });
      const partial = path.join(releasesDir, `${release.id}.uploading`);
      const link = linkTo ? [`--link-dest=${path.join(releasesDir, checkId(linkTo))}`] : [];
      try {
        const out = await $({ quiet: true })`rsync ${rsyncBase} ${link} ${`${release.dir}/`} ${`${partial}/`}`;
        await fs.rename(partial, path.join(releasesDir, release.id));
        return parseRsyncStats(out.stdout);
      } catch (error) {
        await fs.rm(partial, { recursive: true, force: true });
        throw failed(`Copying release ${release.id} to ${releasesDir} failed`, error, 'Check that the folder is writable and has space; nothing was switched.');
      }
    },
    async activate(id) {
      await store().rollback(checkId(id));
    },
    async prune() {
      return (await store().prune()).pruned;
    },
    async restart() {
      if (!config.restart) return false;
      try {
        await $({ quiet: true })`sh -c ${config.restart}`;
      } catch (error) {
        throw failed(`The restart command (${config.restart}) failed`, error, 'Fix the restart command in deploy/targets.json, or restart the servers by hand.');
      }
      return true;
    },
  };
}

/**
 * ssh's arguments for a target: batch mode, strict host key checking, its key and port, and
 * one connection shared by a deploy's several ssh and rsync calls (each new one costs a
 * handshake, 0.3-0.5 s on a busy machine; it closes itself 30 s after the last use). The
 * control socket lives in `controlDir`, a folder only this user can enter.
 */
export function sshArgs(config: SshTargetConfig, controlDir?: string): string[] {
  return [
    '-p',
    String(config.port),
    ...(controlDir ? ['-o', 'ControlMaster=auto', '-o', `ControlPath=${path.join(controlDir, '%C')}`, '-o', 'ControlPersist=30'] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ConnectTimeout=15',
    ...(config.identityFile ? ['-i', config.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(config.knownHostsFile ? ['-o', `UserKnownHostsFile=${config.knownHostsFile}`] : []),
  ];
}

/** A word for a remote POSIX shell, single-quoted. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function createSshTarget(config: SshTargetConfig): ReleaseTarget {
  // mkdtemp makes it 0700: nobody else can put a socket where ours is looked for.
  const controlDir = mkdtempSync(path.join(os.tmpdir(), 'rose-ssh-'));
  process.once('exit', () => rmSync(controlDir, { recursive: true, force: true }));
  const ssh = sshArgs(config, controlDir);
  const root = config.path;
  const remote = async (script: string, what: string) => {
    try {
      return (await $({ quiet: true })`ssh ${ssh} ${config.host} ${script}`).stdout;
    } catch (error) {
      throw failed(`${what} on ${config.host}`, error, `Check that \`ssh -p ${config.port} ${config.host}\` works from here (key, known host) and that ${root} is writable there.`);
    }
  };
  return {
    describe: () => `${config.host}:${root} over ssh`,
    async inspect() {
      const out = await remote(`readlink ${q(`${root}/current`)} || true; echo ---; ls -1 ${q(`${root}/releases`)} 2>/dev/null || true`, 'Reading the releases');
      const [head = '', list = ''] = out.split('---\n');
      const current = path.basename(head.trim()) || undefined;
      // Complete releases only: uploads still going (or crashed) end in `.uploading`.
      const releases = list.split('\n').filter((n) => ID.test(n)).sort().reverse();
      return { current: current && ID.test(current) ? current : undefined, releases };
    },
    async upload(release, linkTo) {
      checkId(release.id);
      const partial = `${root}/releases/${release.id}.uploading`;
      await remote(`mkdir -p ${q(`${root}/releases`)} && rm -rf ${q(partial)}`, 'Preparing the upload');
      // Relative to the destination folder: releases/<id>.uploading → releases/<linkTo>.
      const link = linkTo ? [`--link-dest=../${checkId(linkTo)}`] : [];
      const rsh = ['ssh', ...ssh].map((a) => (/^[\w./=:@-]+$/.test(a) ? a : q(a))).join(' ');
      let out;
      try {
        out = await $({ quiet: true })`rsync ${rsyncBase} -e ${rsh} ${link} ${`${release.dir}/`} ${`${config.host}:${partial}/`}`;
      } catch (error) {
        await remote(`rm -rf ${q(partial)}`, 'Cleaning up a failed upload').catch(() => undefined);
        throw failed(`Uploading release ${release.id} to ${config.host}:${root} failed`, error, 'Nothing was switched; run the deploy again once the connection works.');
      }
      await remote(`mv -T ${q(partial)} ${q(`${root}/releases/${release.id}`)}`, 'Completing the upload');
      return parseRsyncStats(out.stdout);
    },
    async activate(id) {
      checkId(id);
      const tmp = `current.${randomBytes(4).toString('hex')}.tmp`;
      // A new symlink renamed over the old one (mv -T: rename(2), not "move into").
      await remote(
        `cd ${q(root)} && test -f ${q(`releases/${id}/release.json`)} && ln -sfn ${q(`releases/${id}`)} ${q(tmp)} && mv -T ${q(tmp)} current`,
        `Switching to release ${id}`,
      );
    },
    async prune(keep) {
      const { current, releases } = await this.inspect();
      const doomed = releases.slice(keep).filter((id) => id !== current);
      if (doomed.length > 0) await remote(`cd ${q(`${root}/releases`)} && rm -rf ${doomed.map(q).join(' ')}`, 'Deleting old releases');
      return doomed;
    },
    async restart() {
      if (!config.restart) return false;
      await remote(config.restart, `The restart command (${config.restart})`);
      return true;
    },
  };
}
