/**
 * What a deploy has to do, from the files that changed since the target's last successful
 * deploy (as the original platform's CI decided which apps to rebuild):
 * - code, config or dependencies → everything (a new Astro build, every part);
 * - migrations → they run, and every part is rebuilt (its pages read the new schema);
 * - content of one part (`content/market/…`) → only that part is re-seeded and rebuilt;
 * - content every part shows (site settings, navigation) → every part, re-seeded;
 * - docs, tests, benchmarks → nothing.
 */

export interface ChangePlan {
  /** Why the plan is what it is, one line per reason, for the printed plan. */
  reasons: string[];
  /** Parts whose pages are rebuilt. */
  parts: string[];
  /** Parts whose content is re-seeded from `content/`. */
  seed: string[];
  /** The code changed: a full Astro build (and the servers run the new code). */
  code: boolean;
  /** Migrations changed (new ones run anyway; this says the diff has some). */
  migrations: boolean;
  /** Changed files the deploy ignores (docs, tests…). */
  ignored: string[];
  /** Nothing to deploy. */
  empty: boolean;
}

export interface ClassifyOptions {
  /** Parts with static pages, in order: `['blog', 'market']`. */
  parts: readonly string[];
  /** The project's content folder relative to the repository root (default `content`). */
  contentDir?: string;
  /** The target's kind: for `swarm` the image is the release, so what builds it is code. */
  kind?: 'local' | 'ssh' | 'swarm';
}

/** Files whose change never needs a deploy. */
const ignoredPatterns: RegExp[] = [
  /^docs\//,
  /^test\//,
  /^bench\//,
  /^\.ci\//,
  /^\.github\//,
  /^scripts\/(?!check-node)/,
  /(^|\/)[^/]*\.test\.ts$/,
  /(^|\/)CONTEXT\.md$/,
  /^README\.md$/,
  /^LICENSE/,
  /^\.gitignore$/,
  /^\.dockerignore$/,
  /^Dockerfile$/,
  /^docker-compose\.yml$/,
  /^deploy\//,
];

/** What builds the image: code for a `swarm` target, whose release is that image. */
const imageFiles = /^(Dockerfile|\.dockerignore)$/;

/** Whether a change to `file` (repository-relative) is something a deploy of a `kind` target ships. */
export function needsDeploy(file: string, kind?: ClassifyOptions['kind']): boolean {
  return (kind === 'swarm' && imageFiles.test(file)) || !ignoredPatterns.some((p) => p.test(file));
}

/**
 * Sorts changed files (repository-relative, `/`-separated) into a plan. `changed: 'all'` is
 * a first deploy, or one whose previous commit is unknown here: everything.
 */
export function classifyChanges(changed: readonly string[] | 'all', opts: ClassifyOptions): ChangePlan {
  const all = [...opts.parts];
  if (changed === 'all') {
    return { reasons: ['no earlier successful deploy of this target is known here: everything'], parts: all, seed: all, code: true, migrations: true, ignored: [], empty: false };
  }
  const content = `${(opts.contentDir ?? 'content').replace(/\/+$/, '')}/`;
  const reasons: string[] = [];
  const parts = new Set<string>();
  const seed = new Set<string>();
  const ignored: string[] = [];
  let code = false;
  let migrations = false;
  const codeFiles: string[] = [];
  for (const file of changed) {
    if (!needsDeploy(file, opts.kind)) {
      ignored.push(file);
    } else if (file.startsWith('migrations/')) {
      migrations = true;
    } else if (file.startsWith(content)) {
      const rest = file.slice(content.length);
      const first = rest.split('/')[0]!;
      // content/<part>/… belongs to that part; the rest of content/ is the blog's, except
      // what every part shows (the site's settings and navigation).
      const owner = all.includes(first) && rest.includes('/') ? first : /^(site|navigation)\.json$/.test(rest) ? '*' : 'blog';
      for (const p of owner === '*' ? all : all.includes(owner) ? [owner] : []) {
        parts.add(p);
        seed.add(p);
      }
    } else {
      code = true;
      codeFiles.push(file);
    }
  }
  if (code) {
    const shown = codeFiles.slice(0, 3).join(', ') + (codeFiles.length > 3 ? ` and ${codeFiles.length - 3} more` : '');
    reasons.push(`code or configuration changed (${shown}): a new build of every part`);
  }
  if (migrations) reasons.push('migrations changed: they run first, and every part is rebuilt');
  if (!code && !migrations && parts.size > 0) reasons.push(`content of ${[...parts].join(', ')} changed: only ${parts.size === 1 ? 'that part' : 'those parts'}`);
  if (ignored.length > 0) reasons.push(`${ignored.length} file(s) that need no deploy (docs, tests, benchmarks…)`);
  const everything = code || migrations;
  const planParts = everything ? all : all.filter((p) => parts.has(p));
  return {
    reasons: reasons.length > 0 ? reasons : ['nothing changed since the last deploy'],
    parts: planParts,
    seed: all.filter((p) => seed.has(p)),
    code,
    migrations,
    ignored,
    empty: planParts.length === 0,
  };
}

/**
 * The plan narrowed to `--parts`: those parts are re-seeded (a no-op when their content is
 * unchanged) and rebuilt, even if nothing of theirs changed. The other parts' changes are not
 * shipped: such a deploy is recorded as partial, so the next full one still sees them.
 * Unknown names are the caller's to refuse.
 */
export function restrictToParts(plan: ChangePlan, requested: readonly string[]): ChangePlan {
  return {
    ...plan,
    reasons: [...plan.reasons, `--parts ${requested.join(',')}: only ${requested.length === 1 ? 'that part' : 'those parts'} (changes to others wait for the next deploy without --parts)`],
    parts: [...requested],
    seed: [...requested],
    empty: requested.length === 0,
  };
}
