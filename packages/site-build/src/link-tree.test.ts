import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { linkTree } from './link-tree.ts';

describe('linkTree', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });

  it('hard-links every file but the skipped ones and the manifests, in a thread, making only folders that get a file', async () => {
    const from = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-link-from-'));
    const to = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-link-to-'));
    dirs.push(from, to);
    const files = ['release.json', 'pages.json', 'client/index.html', 'client/blog/a/index.html', 'client/blog/a/index.html.br', 'client/blog/gone/index.html', 'server/entry.mjs'];
    for (const f of files) {
      await fs.mkdir(path.dirname(path.join(from, f)), { recursive: true });
      await fs.writeFile(path.join(from, f), f);
    }
    const count = await linkTree(from, to, new Set(['client/blog/a/index.html', 'client/blog/gone/index.html']));

    expect(count).toBe(3);
    const linked = (await fs.readdir(to, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(to, path.join(e.parentPath, e.name))).sort();
    expect(linked).toEqual(['client/blog/a/index.html.br', 'client/index.html', 'server/entry.mjs']);
    // Links, not copies: the same inode as the source.
    expect((await fs.stat(path.join(to, 'client/index.html'))).ino).toBe((await fs.stat(path.join(from, 'client/index.html'))).ino);
    // A folder whose only file was skipped is not made.
    await expect(fs.access(path.join(to, 'client/blog/gone'))).rejects.toThrow();
  });

  it('rejects, naming the cause, when a link cannot be made', async () => {
    const from = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-link-from-'));
    const to = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-link-to-'));
    dirs.push(from, to);
    await fs.writeFile(path.join(from, 'a.html'), 'a');
    await fs.writeFile(path.join(to, 'a.html'), 'already there');
    await expect(linkTree(from, to, new Set())).rejects.toThrow(/EEXIST/);
  });
});
