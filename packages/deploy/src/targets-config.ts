import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { RoseError } from '@rose/core';

/**
 * `deploy/targets.json`: where `rose deploy` can ship to. Secrets are never written in it:
 * a value `${NAME}` is read from the environment of whoever deploys.
 *
 * @example
 * {
 *   "default": "staging",
 *   "targets": {
 *     "staging": { "kind": "local", "path": "/srv/rose/app/dist", "url": "http://127.0.0.1:8080",
 *                  "env": { "DATABASE_URL": "${STAGING_DATABASE_URL}" } },
 *     "live": { "kind": "ssh", "host": "deploy@coop.example", "path": "/srv/rose/app/dist",
 *               "url": "https://coop.example", "env": { "DATABASE_URL": "${LIVE_DATABASE_URL}" },
 *               "restart": "systemctl restart 'rose-app@*'" }
 *   }
 * }
 */

const targetName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'a target name is lower-case letters, digits and dashes, starting with a letter')
  .refine((n) => n !== 'history', '"history" is taken by `rose deploy history`: pick another name');
const absolutePath = z
  .string()
  .min(2)
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'an absolute path without ".." segments')
  .refine((p) => /^[A-Za-z0-9._/@+-]+$/.test(p), 'letters, digits and . _ / @ + - only (it is used in remote shell commands)');
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'an http:// or https:// URL')
  .transform((u) => new URL(u).origin);
const envMap = z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'setting names are upper-case, like DATABASE_URL'), z.string());

const common = {
  /** The front door (Caddy, or `rose serve`), where the health check goes after the switch. */
  url: httpUrl,
  /** Settings the build and migrations run with: the target's DATABASE_URL, ROSE_SITE_URL… */
  env: envMap.default({}),
  /** Releases kept on the far side for rollbacks (the live one always stays). */
  keep: z.number().int().min(2).max(100).default(5),
  /** How long the new release may take to answer /api/ready through the front door. */
  healthTimeoutSeconds: z.number().int().min(1).max(600).default(60),
  /**
   * A shell command that restarts the app servers when the code changed (servers pick up
   * new releases of pages by themselves). Run here for `local`, on the far side for `ssh`.
   */
  restart: z.string().min(1).max(1000).optional(),
};

const localTarget = z.strictObject({
  kind: z.literal('local'),
  /** The dist folder the target's servers follow (their ROSE_DIST_DIR). */
  path: absolutePath,
  ...common,
});

const sshTarget = z.strictObject({
  kind: z.literal('ssh'),
  /** `user@host` (a host name or address; no options smuggled in). */
  host: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}@[A-Za-z0-9.-]{1,253}$|^[a-z_][a-z0-9_.-]{0,31}@\[[0-9a-fA-F:.]+\]$/, 'user@host, e.g. deploy@coop.example'),
  port: z.number().int().min(1).max(65535).default(22),
  path: absolutePath,
  /** The private key to sign in with; otherwise ssh's own defaults (agent, ~/.ssh). */
  identityFile: z.string().min(1).optional(),
  /** A known_hosts file holding the far side's host key; hosts are always checked strictly. */
  knownHostsFile: z.string().min(1).optional(),
  ...common,
});

const swarmTarget = z.strictObject({
  kind: z.literal('swarm'),
  /** The stack name for `docker stack deploy`. */
  stack: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a stack name: lower-case letters, digits, _ and -'),
  /** The image repository; the tag is the commit deployed. */
  image: z.string().regex(/^[a-z0-9]+([._/:-][a-z0-9]+)*$/, 'an image repository like registry.coop.example/rose'),
  replicas: z.number().int().min(1).max(50).default(2),
  /** Where the stack file is written (default `.rose/deploy/<target>/stack.yml`). */
  stackFile: z.string().min(1).optional(),
  /** Docker secrets the services read (names only): `database_url`, `redis_url`, `astro_key`… */
  secrets: z.array(z.string().regex(/^[a-z][a-z0-9_.-]*$/)).default([]),
  /** A Caddyfile made by `rose caddy config`: puts Caddy in front, in the stack. */
  caddyfile: z.string().min(1).optional(),
  ...common,
});

const targetSchema = z.discriminatedUnion('kind', [localTarget, sshTarget, swarmTarget]);
const fileSchema = z.strictObject({
  default: targetName.optional(),
  targets: z.record(z.string(), targetSchema).refine((t) => Object.keys(t).length > 0, 'name at least one target'),
});

export type TargetConfig = z.infer<typeof targetSchema> & { name: string };
export type LocalTargetConfig = Extract<TargetConfig, { kind: 'local' }>;
export type SshTargetConfig = Extract<TargetConfig, { kind: 'ssh' }>;
export type SwarmTargetConfig = Extract<TargetConfig, { kind: 'swarm' }>;

export interface TargetsFile {
  default: string | undefined;
  targets: Record<string, TargetConfig>;
}

const hint = 'See "Deploying" in the README for the format of deploy/targets.json.';

/** Reads and validates the targets file; every problem is named with its path. */
export async function loadTargets(file: string): Promise<TargetsFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RoseError({ code: 'deploy-targets', title: 'No deploy targets', message: `${file} does not exist.`, hint: `Create it with at least one target. ${hint}` });
    }
    throw error;
  }
  return parseTargets(text, file);
}

export function parseTargets(text: string, file = 'deploy/targets.json'): TargetsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RoseError({ code: 'deploy-targets', title: 'Deploy targets unreadable', message: `${file} is not valid JSON: ${(error as Error).message}.`, hint });
  }
  const parsed = fileSchema.safeParse(raw);
  // Names are checked here: zod reports a bad record key without its message.
  const badNames = Object.keys((raw as { targets?: object })?.targets ?? {}).flatMap((name) => {
    const r = targetName.safeParse(name);
    return r.success ? [] : [`  targets.${name}: ${r.error.issues[0]!.message}`];
  });
  if (!parsed.success || badNames.length > 0) {
    const lines = [...badNames, ...(parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`))];
    throw new RoseError({ code: 'deploy-targets', title: 'Deploy targets invalid', message: `${file} has problems:\n${lines.join('\n')}`, hint });
  }
  const targets: Record<string, TargetConfig> = {};
  for (const [name, t] of Object.entries(parsed.data.targets)) targets[name] = { ...t, name };
  if (parsed.data.default && !targets[parsed.data.default]) {
    throw new RoseError({ code: 'deploy-targets', title: 'Deploy targets invalid', message: `${file} names "${parsed.data.default}" as the default, but has no such target.`, hint });
  }
  return { default: parsed.data.default, targets };
}

/** The target `name`, or the default (or the only) one. */
export function pickTarget(file: TargetsFile, name: string | undefined): TargetConfig {
  const names = Object.keys(file.targets);
  const chosen = name ?? file.default ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen) {
    throw new RoseError({ code: 'bad-argument', title: 'Which target?', message: `There are ${names.length} deploy targets (${names.join(', ')}) and no default.`, hint: 'Name one: `rose deploy <target>`, or set "default" in deploy/targets.json.' });
  }
  const target = file.targets[chosen];
  if (!target) {
    throw new RoseError({ code: 'bad-argument', title: 'No such target', message: `There is no deploy target "${chosen}".`, hint: `Known targets: ${names.join(', ')}.` });
  }
  return target;
}

/**
 * The target's settings with `${NAME}` read from `env`. A missing variable is an error
 * naming it, never an empty value (a build against the wrong database is worse than none).
 */
export function resolveTargetEnv(target: TargetConfig, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, value] of Object.entries(target.env)) {
    out[key] = value.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') missing.push(name);
      return v ?? '';
    });
  }
  if (missing.length > 0) {
    throw new RoseError({
      code: 'deploy-targets',
      title: 'A deploy setting is missing',
      message: `Target "${target.name}" reads ${[...new Set(missing)].join(', ')} from the environment, but ${missing.length === 1 ? 'it is' : 'they are'} not set.`,
      hint: 'Export it in the shell you deploy from (secrets stay out of deploy/targets.json).',
    });
  }
  return out;
}
