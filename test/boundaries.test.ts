import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@rose/testing';

// The shape DESIGN.md fixes, checked on every import: packages are used only through their
// `exports`; each package declares exactly what it imports; sites/ reaches the rest through
// the app (and core); domain packages never reach up into the app, the CLI or the site; CLI
// commands never import each other. Each failure says how to fix it.

interface Import {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

const importPattern = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|mts|astro)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function importsOf(file: string): Import[] {
  let text = readFileSync(file, 'utf8');
  if (file.endsWith('.astro')) text = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
  // Comments may mention imports (examples in JSDoc); they are not imports.
  text = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: Import[] = [];
  for (const m of text.matchAll(importPattern)) {
    const specifier = m[3] ?? m[4];
    if (specifier) out.push({ file: path.relative(repoRoot, file), specifier, typeOnly: Boolean(m[2]) });
  }
  return out;
}

/** `@rose/app/startup` → `@rose/app`; `kysely/helpers` → `kysely`; `@scope/x/y` → `@scope/x`. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || specifier.startsWith('astro:') || specifier.startsWith('virtual:')) return undefined;
  if (builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

const packagesDir = path.join(repoRoot, 'packages');
const packageDirs = readdirSync(packagesDir).filter((d) => statSync(path.join(packagesDir, d)).isDirectory());
const hasManifest = (d: string) => {
  try {
    return statSync(path.join(packagesDir, d, 'package.json')).isFile();
  } catch {
    return false;
  }
};
const packageNames = packageDirs.filter(hasManifest);
const manifests = new Map(
  packageNames.map((d) => {
    const json = JSON.parse(readFileSync(path.join(packagesDir, d, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, string>;
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    return [d, json] as const;
  }),
);
const byName = new Map([...manifests].map(([dir, m]) => [m.name, { dir, manifest: m }]));
const domainPackages = packageNames.filter((d) => !['app', 'testing'].includes(d));
const isTestFile = (f: string) => /\.(test|integration\.test|contract|fixture)\.ts$/.test(f);

describe('package boundaries', () => {
  it('every folder under packages/ is a package', () => {
    const bare = packageDirs.filter((d) => !hasManifest(d));
    expect(bare.map((d) => `packages/${d} has no package.json: give it one with "name": "@rose/${d}" and "exports", or move its code into a package.`)).toEqual([]);
  });

  it('imports other packages only through their exports', () => {
    const problems: string[] = [];
    for (const root of ['packages', 'cli', 'sites', 'test', 'bench']) {
      for (const file of sourceFiles(path.join(repoRoot, root))) {
        for (const imp of importsOf(file)) {
          const owner = byName.get(packageOf(imp.specifier) ?? '');
          if (owner) {
            const sub = imp.specifier.slice(owner.manifest.name.length) || '.';
            const exported = Object.keys(owner.manifest.exports ?? { '.': '' });
            if (!exported.includes(sub === '.' ? '.' : `.${sub}`)) {
              problems.push(`${imp.file} imports "${imp.specifier}", which ${owner.manifest.name} does not export. Import from "${owner.manifest.name}" (add what you need to its src/index.ts), or add "${`.${sub}`}" to its package.json "exports" if it is meant to be public.`);
            }
          }
          if (imp.specifier.startsWith('.')) {
            const target = path.resolve(path.dirname(path.join(repoRoot, imp.file)), imp.specifier);
            const fromPkg = path.relative(packagesDir, path.join(repoRoot, imp.file)).split(path.sep)[0];
            const toPkg = path.relative(packagesDir, target).split(path.sep)[0];
            const into = !path.relative(packagesDir, target).startsWith('..');
            if (into && (root !== 'packages' || fromPkg !== toPkg)) {
              problems.push(`${imp.file} reaches into packages/${toPkg} by a relative path ("${imp.specifier}"). Import "@rose/${toPkg}" instead.`);
            }
          }
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every package declares exactly the packages it imports', () => {
    const problems: string[] = [];
    for (const dir of packageNames) {
      const manifest = manifests.get(dir)!;
      const declared = new Set(Object.keys(manifest.dependencies ?? {}));
      const declaredDev = new Set(Object.keys(manifest.devDependencies ?? {}));
      const used = new Set<string>();
      const usedByTests = new Set<string>();
      for (const file of sourceFiles(path.join(packagesDir, dir))) {
        const rel = path.relative(repoRoot, file);
        for (const imp of importsOf(file)) {
          const pkg = packageOf(imp.specifier);
          if (!pkg || pkg === manifest.name || pkg === 'vitest') continue;
          (isTestFile(rel) ? usedByTests : used).add(pkg);
          if (isTestFile(rel) ? !declared.has(pkg) && !declaredDev.has(pkg) : !declared.has(pkg)) {
            problems.push(`${rel} imports "${pkg}", which packages/${dir}/package.json does not declare. Add it to ${isTestFile(rel) ? '"devDependencies"' : '"dependencies"'} (the same version as elsewhere in the repo, "*" for @rose packages).`);
          }
        }
      }
      for (const pkg of declared) {
        if (!used.has(pkg)) problems.push(`packages/${dir}/package.json declares "${pkg}" but no source file of it imports it. Remove it${usedByTests.has(pkg) ? ' from "dependencies" and add it to "devDependencies" (only tests use it)' : ''}.`);
      }
      for (const pkg of declaredDev) {
        if (!usedByTests.has(pkg) && !used.has(pkg)) problems.push(`packages/${dir}/package.json declares dev dependency "${pkg}" but nothing imports it. Remove it.`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('sites/ uses only the app and core of our packages', () => {
    const problems: string[] = [];
    for (const file of sourceFiles(path.join(repoRoot, 'sites'))) {
      for (const imp of importsOf(file)) {
        const pkg = packageOf(imp.specifier);
        if (pkg?.startsWith('@rose/') && pkg !== '@rose/app' && pkg !== '@rose/core') {
          problems.push(`${imp.file} imports "${imp.specifier}". Pages reach domain packages through @rose/app (services in Astro.locals, re-exported types); export what the page needs from packages/app/src/index.ts.`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('domain packages never import the app, the CLI or the site', () => {
    const problems: string[] = [];
    for (const dir of domainPackages) {
      for (const file of sourceFiles(path.join(packagesDir, dir))) {
        for (const imp of importsOf(file)) {
          const pkg = packageOf(imp.specifier);
          const relTarget = imp.specifier.startsWith('.') ? path.relative(repoRoot, path.resolve(path.dirname(file), imp.specifier)) : '';
          if (pkg === '@rose/app' || relTarget.startsWith('cli') || relTarget.startsWith('sites')) {
            problems.push(`${imp.file} imports "${imp.specifier}": dependencies point one way (sites/, cli/ → app → domain packages → db, core). Move the shared piece down into a domain package, or pass it in from the app.`);
          }
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('CLI commands do not import each other', () => {
    const problems: string[] = [];
    const commandsDir = path.join(repoRoot, 'cli', 'src', 'commands');
    for (const file of sourceFiles(commandsDir)) {
      if (isTestFile(file)) continue;
      for (const imp of importsOf(file)) {
        if (imp.typeOnly) continue;
        if (imp.specifier.startsWith('./') && !imp.specifier.includes('/', 2)) {
          problems.push(`${imp.file} imports the command "${imp.specifier}". Commands stay thin: move what both need into a package (or cli/src/ for output helpers) and call it from both.`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
