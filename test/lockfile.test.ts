import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@rose/testing';

interface LockEntry {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

// `npm install` on a clean clone must leave the tree clean. It rewrites the lockfile when
// the lockfile lacks a package npm would record (an optional platform binding of another
// OS) or when package.json asks for something else. `.ci/run` checks the real install;
// these checks catch the same drift in a second, without installing.
describe('package-lock.json', async () => {
  const lock = JSON.parse(await fs.readFile(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as LockEntry;

  it('asks for exactly what package.json asks for', () => {
    const root = lock.packages['']!;
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
  });

  it("records every optional dependency, other platforms' bindings included", () => {
    const missing: string[] = [];
    for (const [location, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        if (!resolves(lock.packages, location, name)) missing.push(`${location || '(root)'} → ${name}`);
      }
    }
    expect(missing, 'run `npm install` on a clean clone and commit the package-lock.json it writes').toEqual([]);
  });
});

/** Node's lookup: `<location>/node_modules/<name>`, then the same in each parent. */
function resolves(packages: Record<string, LockEntry>, location: string, name: string): boolean {
  let base = location;
  for (;;) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}
