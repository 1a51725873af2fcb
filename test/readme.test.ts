import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settings } from '@rose/config';
import { repoRoot } from '@rose/testing';

// The README is a promise to newcomers; keep it true.
describe('README', async () => {
  const readme = await fs.readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const pkg = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('has a quick start of exactly two commands, install+start and test', () => {
    const quick = readme.split('## Quick start')[1]!.split('\n## ')[0]!;
    const commands = [...quick.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(commands).toEqual(['npm install && npm start', 'npm test']);
    expect(pkg.scripts.start).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
  });

  it('documents every setting', () => {
    for (const s of settings) expect(readme, `README is missing ${s.env}`).toContain(`| \`${s.env}\` |`);
  });

  it('documents every CLI command', async () => {
    const { createProgram } = await import('../cli/src/main.ts');
    const program = createProgram();
    const names = program.commands.flatMap((c) => (c.commands.length ? c.commands.map((s) => `rose ${c.name()} ${s.name()}`) : [`rose ${c.name()}`]));
    for (const name of names) expect(readme, `README is missing ${name}`).toContain(`\`${name}`);
  });
});
