import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parts } from '@rose/core';
import { repoRoot } from '@rose/testing';

// Links of every part come from one helper (packages/core/src/part-links.ts, with the blog's
// in links.ts): a part may move to a host of its own, and then only the helper changes. This
// fails when a source spells a part's path itself ('/account/', `/auth/login?…`, href="/blog/").

const helper = new Set(['packages/core/src/links.ts', 'packages/core/src/part-links.ts']);
const isTest = (file: string) => /\.(test|integration\.test|e2e\.test|contract|fixture|bench)\.ts$/.test(file);
const prefixes = [...parts, 'api'].join('|');
// A string or attribute that starts with a part's path: '/auth/login', "/blog/", `/account/${x}`, '/auth'.
// …or a regular expression that matches one: /^\/(auth|account)\//.
const literalPartPath = new RegExp(`(['"\`])/(?:${prefixes})(?:[/?#]|\\1|\\$\\{)|\\\\/\\(?(?:\\?:)?(?:${prefixes})\\b`, 'g');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name === 'public' || name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (/\.(ts|mts|astro)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Comments may show paths as examples; code may not. Line numbers are kept. */
function withoutComments(text: string): string {
  const blank = (m: string) => m.replace(/[^\n]/g, ' ');
  return text
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/<!--[\s\S]*?-->/g, blank)
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, (m, lead: string) => lead + blank(m.slice(lead.length)));
}

function literalPartPaths(file: string, text: string): string[] {
  const found: string[] = [];
  withoutComments(text)
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(literalPartPath)) found.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)} (${m[0]})`);
    });
  return found;
}

describe('part links', () => {
  it('no source outside the links helper spells a part path', () => {
    const files = ['packages', 'sites', 'cli/src']
      .flatMap((dir) => sources(path.join(repoRoot, dir)))
      .map((f) => path.relative(repoRoot, f))
      .filter((f) => !helper.has(f) && !isTest(f));
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) => literalPartPaths(f, readFileSync(path.join(repoRoot, f), 'utf8')));
    expect(
      found.map((f) => `${f}: use linkPaths / services.links (createLinks) from @rose/core, or add the link to packages/core/src/part-links.ts`),
    ).toEqual([]);
  });

  it('finds the literals it is meant to find, and not paths that only begin alike', () => {
    const sample = [
      "const a = '/account/';",
      'const b = `/auth/login?return_to=${x}`;',
      '<a href="/blog/">Blog</a>',
      "redirect('/auth', 303)",
      'const c = `/api/${name}`;',
      'const d = /^\\/(auth|account)\\//;',
      "const ok1 = '/authorize';",
      "const ok2 = '/blogroll/';",
      "// '/auth/login' in a comment",
      '/** `/blog/<slug>/` in a doc comment */',
      "const url = 'https://x.example'; // then '/auth/x'",
    ].join('\n');
    expect(literalPartPaths('x.ts', sample).map((f) => f.split(':')[1])).toEqual(['1', '2', '3', '4', '5', '6']);
  });
});
