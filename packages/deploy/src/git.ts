import { $ } from 'zx';
import { RoseError } from '@rose/core';

/** What the deploy needs from git: the commit to record and what changed since the last one. */
export interface GitRepo {
  head(): Promise<string>;
  /** Files changed between `from` and HEAD, or 'all' when `from` is not a commit this repository knows. */
  changedSince(from: string): Promise<string[] | 'all'>;
  /** Tracked files with uncommitted changes (a deploy records a commit, so it must be what is built). */
  uncommitted(): Promise<string[]>;
}

export function createGitRepo(root: string): GitRepo {
  const git = $({ cwd: root, quiet: true });
  return {
    async head() {
      try {
        return (await git`git rev-parse --verify HEAD`).stdout.trim();
      } catch (error) {
        throw new RoseError({ code: 'deploy-git', title: 'Not a git checkout', message: `${root} has no commit to deploy: ${(error as Error).message.split('\n')[0]}`, hint: 'Deploy from a git clone of the project with at least one commit.' });
      }
    },
    async changedSince(from) {
      if (!/^[0-9a-f]{7,64}$/.test(from)) return 'all';
      const known = await git`git cat-file -e ${`${from}^{commit}`}`.nothrow();
      if (known.exitCode !== 0) return 'all';
      // --no-renames: a file moved from one part to another is a change to both.
      const out = await git`git diff --name-only --no-renames -z ${from} HEAD`;
      return out.stdout.split('\0').filter(Boolean);
    },
    async uncommitted() {
      const out = await git`git status --porcelain=v1 -z --untracked-files=no`;
      // `XY path`, and for a rename or copy the old path as the next entry.
      const entries = out.stdout.split('\0');
      const files: string[] = [];
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (entry.length < 4) continue;
        files.push(entry.slice(3));
        if (/^[RC]|^.[RC]/.test(entry)) files.push(entries[++i] ?? '');
      }
      return files.filter(Boolean);
    },
  };
}
