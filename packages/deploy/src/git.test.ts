import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitRepo } from './git.ts';

const run = promisify(execFile);

/**
 * A real repository in a temporary folder: what changed decides what a deploy builds, so the
 * paths git reports (renames, names git would otherwise quote) are what the plan sees.
 */
describe('createGitRepo', () => {
  let root: string;
  let first: string;
  let second: string;
  // Commits work without a user's git configuration, and theirs does not change the output.
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  const git = async (...args: string[]) => (await run('git', args, { cwd: root, env })).stdout.trim();
  const write = async (file: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.writeFile(path.join(root, file), text);
  };

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-git-'));
    await git('init', '--quiet');
    await write('content/posts/hello.md', '# Hello\n\nA post about the orchard, long enough for git to see a rename.\n');
    await write('content/posts/café.md', 'Coffee\n');
    await write('packages/core/src/money.ts', 'export const pence = 100;\n');
    await write('docs/readme.md', 'docs\n');
    await git('add', '.');
    await git('commit', '--quiet', '-m', 'first');
    first = await git('rev-parse', 'HEAD');
    await fs.mkdir(path.join(root, 'content/market'));
    await git('mv', 'content/posts/hello.md', 'content/market/hello.md');
    await write('content/posts/café.md', 'Coffee, again\n');
    await write('packages/core/src/money.ts', 'export const pence = 101;\n');
    await git('commit', '--quiet', '-am', 'second');
    second = await git('rev-parse', 'HEAD');
  });

  afterAll(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('head() is the commit checked out', async () => {
    expect(await createGitRepo(root).head()).toBe(second);
  });

  it('changedSince() lists both sides of a rename and each modified file, by its real name', async () => {
    // git itself sees a rename here (so --no-renames is what makes both paths appear).
    expect(await git('diff', '--name-status', '-M', first, 'HEAD')).toMatch(/^R\d+\tcontent\/posts\/hello\.md\tcontent\/market\/hello\.md$/m);
    const changed = await createGitRepo(root).changedSince(first);
    expect(Array.isArray(changed) ? [...changed].sort() : changed).toEqual(['content/market/hello.md', 'content/posts/café.md', 'content/posts/hello.md', 'packages/core/src/money.ts']);
    // An abbreviated commit is still a commit.
    expect(await createGitRepo(root).changedSince(first.slice(0, 7))).toEqual(changed);
    expect(await createGitRepo(root).changedSince(second)).toEqual([]);
  });

  it('changedSince() is "all" for anything that is not a commit this repository knows', async () => {
    const repo = createGitRepo(root);
    expect(await repo.changedSince('0123456789abcdef0123456789abcdef01234567')).toBe('all');
    expect(await repo.changedSince('deadbeef')).toBe('all');
    // Not a hex commit id, though git would resolve them: never passed to git.
    expect(await repo.changedSince('HEAD~1')).toBe('all');
    expect(await repo.changedSince(first.toUpperCase())).toBe('all');
    expect(await repo.changedSince(`${first}+dirty`)).toBe('all');
    expect(await repo.changedSince('')).toBe('all');
    // A known object that is not a commit (a file's blob).
    expect(await repo.changedSince(await git('rev-parse', `${first}:docs/readme.md`))).toBe('all');
  });

  it('uncommitted() lists modified tracked files and both sides of a git mv, not untracked ones', async () => {
    const repo = createGitRepo(root);
    expect(await repo.uncommitted()).toEqual([]);
    await write('packages/core/src/money.ts', 'export const pence = 102;\n');
    await git('mv', 'content/market/hello.md', 'content/posts/hello-again.md');
    await write('content/posts/untracked.md', 'new\n');
    try {
      expect([...(await repo.uncommitted())].sort()).toEqual(['content/market/hello.md', 'content/posts/hello-again.md', 'packages/core/src/money.ts']);
    } finally {
      await git('reset', '--quiet', '--hard');
      await fs.rm(path.join(root, 'content/posts/untracked.md'));
    }
    expect(await repo.uncommitted()).toEqual([]);
  });

  it('head() says plainly when there is no commit', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-git-empty-'));
    try {
      await run('git', ['init', '--quiet'], { cwd: empty, env });
      await expect(createGitRepo(empty).head()).rejects.toMatchObject({ code: 'deploy-git', message: expect.stringContaining('has no commit to deploy') });
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});
