import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { z } from 'zod';
import { parseWithFriendlyErrors, RoseError } from '@rose/core';

/**
 * The Docker Swarm stack `rose deploy` writes for a `swarm` target (compose file format 3.8,
 * for `docker stack deploy`):
 * - `app`: N replicas of `rose serve --no-worker`, rolled out one at a time, each new task
 *   started and healthy (/api/health) before an old one stops; a task that fails its health
 *   check rolls the whole service back to the previous image;
 * - `worker`: one `rose worker`, which first builds the pages with the new code into the
 *   shared `releases` volume the app servers follow (`stop-first`: never two builds at once);
 * - `caddy` (when a Caddyfile is given): the front door, serving the releases read-only.
 * Migrations are not run by the stack: `rose deploy` runs them once, under its lock, first.
 * Postgres and Redis are not in the stack either: they live outside it (DATABASE_URL,
 * REDIS_URL), so tasks can run on any node. Secrets are Docker secrets, created beforehand
 * (`printf %s "$URL" | docker secret create database_url -`); the file only names them.
 */
export interface SwarmStackOptions {
  /** The stack's name (`docker stack deploy … NAME`); services are named `<stack>_app`, … */
  stackName: string;
  /** The image with its tag, the commit deployed: `registry.coop.example/rose:3f2a9c1d0b7e`. */
  image: string;
  /** How many app servers. */
  replicas: number;
  /** ROSE_SITE_URL: the public origin. */
  siteUrl: string;
  /** Other settings that are not secret (`ROSE_LOG_LEVEL`, `GHOST_URL`, …). */
  env?: Record<string, string>;
  /**
   * Docker secrets, by name; each becomes the setting of its name in upper case
   * (`database_url` → DATABASE_URL, `astro_key` → ASTRO_KEY). Never their values.
   */
  secrets?: readonly string[];
  /** The stack's overlay network; the app believes forwarded headers from it only (Caddy's). */
  subnet?: string;
  /** A Caddyfile made by `rose caddy config`: adds Caddy in front, on ports 80 and 443. */
  caddyfile?: {
    /** Its path as written in the stack file (relative to the stack file's folder, or absolute). */
    path: string;
    /** Its text: a changed Caddyfile becomes a new Swarm config, which rolls Caddy. */
    text: string;
  };
  /**
   * The `releases` volume. Docker's default `local` driver gives each node its own: with
   * tasks on more than one node, name a shared driver (NFS options for `local`, or a plugin).
   */
  releasesVolume?: { driver?: string; driverOpts?: Record<string, string> };
}

const defaultSubnet = '10.214.0.0/24';

// Docker's image reference grammar (distribution/reference), with a tag required.
const domainPart = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `${domainPart}(?:\\.${domainPart})*(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const imagePattern = new RegExp(`^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`);

const stackName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a stack name: lower-case letters, digits, _ and -, starting with a letter (at most 63)');
const settingName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'setting names are upper-case, like ROSE_LOG_LEVEL');
const secretName = z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'a Docker secret name: lower-case letters, digits, _ . and -, starting with a letter');
const octet = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const subnet = z.string().regex(new RegExp(`^${octet}(?:\\.${octet}){3}/(?:[89]|1\\d|2[0-8])$`), 'an IPv4 network like 10.214.0.0/24 (a prefix from /8 to /28)');
// Settings whose values are credentials: they may only come as Docker secrets.
const secretSetting = /PASSWORD|SECRET|TOKEN|(^|_)KEY$|^SMTP_URL$/;
const setByStack = new Set(['ROSE_SITE_URL', 'ROSE_TRUSTED_PROXIES', 'HOST', 'PORT', 'NODE_ENV']);
const envName = (secret: string) => secret.toUpperCase().replace(/[.-]/g, '_');

const optionsSchema = z
  .strictObject({
    stackName,
    image: z
      .string()
      .regex(imagePattern, 'an image with a tag, like registry.coop.example/rose:3f2a9c1d0b7e')
      .refine((i) => !i.endsWith(':latest'), 'a tag naming what is deployed (the commit), not "latest": Swarm would not see a new image, and a rollback could not name the old one'),
    replicas: z.number().int().min(1).max(50),
    siteUrl: z
      .string()
      .url()
      .refine((u) => /^https?:$/.test(new URL(u).protocol), 'an http:// or https:// URL')
      .transform((u) => new URL(u).origin),
    env: z
      .record(settingName, z.string().max(4096))
      .default({})
      .superRefine((env, ctx) => {
        for (const [key, value] of Object.entries(env)) {
          if (setByStack.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is set by the stack itself` });
          else if (secretSetting.test(key) || /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(value)) ctx.addIssue({ code: 'custom', path: [key], message: `holds a credential: make it a Docker secret named ${key.toLowerCase()} and list it in secrets` });
        }
      }),
    secrets: z.array(secretName).default([]),
    subnet: subnet.default(defaultSubnet),
    caddyfile: z.strictObject({ path: z.string().min(1).regex(/^[^\n$]+$/, 'a path without newlines or $'), text: z.string().min(1) }).optional(),
    releasesVolume: z.strictObject({ driver: z.string().regex(/^[a-z0-9][a-z0-9_./:-]*$/).optional(), driverOpts: z.record(z.string(), z.string()).optional() }).optional(),
  })
  .superRefine((o, ctx) => {
    const fromSecrets = o.secrets.map(envName);
    const seen = new Set<string>();
    o.secrets.forEach((s, i) => {
      const name = envName(s);
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['secrets', i], message: `another secret already sets ${name}` });
      seen.add(name);
      if (Object.hasOwn(o.env, name)) ctx.addIssue({ code: 'custom', path: ['secrets', i], message: `${name} is in env too; give it one way` });
      if (setByStack.has(name)) ctx.addIssue({ code: 'custom', path: ['secrets', i], message: `${name} is set by the stack itself` });
    });
    // Without these, each task would quietly use its own embedded database, its own memory
    // cache and its own island key: N servers that disagree.
    for (const needed of ['DATABASE_URL', 'REDIS_URL', 'ASTRO_KEY']) {
      if (!fromSecrets.includes(needed) && !Object.hasOwn(o.env, needed)) {
        ctx.addIssue({ code: 'custom', path: ['secrets'], message: `${needed} is needed by every task: create the Docker secret ${needed.toLowerCase()} and list it${needed === 'ASTRO_KEY' ? '' : ' (or, without credentials in it, put it in env)'}` });
      }
    }
  });

/**
 * Renders the stack file for `docker stack deploy`; throws a `deploy-targets` RoseError
 * naming the field when an option is unusable. Pure: writes nothing.
 *
 * @example
 * renderSwarmStack({ stackName: 'rose', image: 'registry.coop.example/rose:3f2a9c1d0b7e', replicas: 3,
 *   siteUrl: 'https://coop.example', secrets: ['database_url', 'redis_url', 'astro_key'] });
 */
export function renderSwarmStack(options: SwarmStackOptions): string {
  const parsed = parseWithFriendlyErrors(optionsSchema, options);
  if (!parsed.ok) {
    throw new RoseError({
      code: 'deploy-targets',
      title: 'Swarm stack not written',
      message: `The swarm target cannot be turned into a stack file:\n${parsed.problems.map((p) => `  ${p}`).join('\n')}`,
      hint: 'Fix the target in deploy/targets.json (secrets are Docker secret names, created with `docker secret create NAME -`). Nothing was deployed.',
    });
  }
  const o = parsed.value;
  const environment = { ROSE_SITE_URL: o.siteUrl, ROSE_TRUSTED_PROXIES: o.subnet, ...o.env };
  const secrets = o.secrets.map((name) => ({ source: name, target: envName(name) }));
  // Docker secrets arrive as files; Rose Ash reads settings from the environment.
  // Health checks and `docker exec` start new processes without the command's exports, so
  // whatever needs a setting goes through this too.
  const withSecrets = (command: string) => ['sh', '-c', `for f in /run/secrets/*; do [ -f "$f" ] && export "\${f##*/}=$(cat "$f")"; done; ${command}`];
  const rose = 'node cli/bin/rose.js';
  const common = {
    image: o.image,
    init: true,
    environment,
    ...(secrets.length > 0 ? { secrets } : {}),
    volumes: ['releases:/app/dist'],
    networks: ['rose'],
  };
  const healthy = (test: string[], startPeriod: string) => ({ test, interval: '10s', timeout: '5s', retries: 6, start_period: startPeriod });

  const services: Record<string, unknown> = {
    app: {
      ...common,
      command: withSecrets(`exec ${rose} serve --no-worker`),
      healthcheck: healthy(['CMD', 'node', '-e', "fetch('http://127.0.0.1:4321/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"], '60s'),
      // In-flight requests finish after SIGTERM (rose serve closes its listener first).
      stop_grace_period: '30s',
      deploy: {
        mode: 'replicated',
        replicas: o.replicas,
        update_config: { parallelism: 1, delay: '5s', order: 'start-first', failure_action: 'rollback', monitor: '60s', max_failure_ratio: 0 },
        rollback_config: { parallelism: 0, order: 'start-first', failure_action: 'pause', monitor: '30s' },
        // Also while no release exists yet (the worker's first build): the task retries.
        restart_policy: { condition: 'any', delay: '5s', window: '60s' },
      },
    },
    worker: {
      ...common,
      // Builds the pages with this image's code first; the app servers follow the new release.
      command: withSecrets(`${rose} build && exec ${rose} worker`),
      // No HTTP port: healthy while it reaches the database with the task's settings.
      healthcheck: healthy(['CMD', ...withSecrets(`exec ${rose} db status`)], '60s'),
      stop_grace_period: '60s',
      deploy: {
        mode: 'replicated',
        replicas: 1,
        update_config: { parallelism: 1, order: 'stop-first', failure_action: 'rollback', monitor: '60s' },
        rollback_config: { parallelism: 1, order: 'stop-first', failure_action: 'pause' },
        restart_policy: { condition: 'any', delay: '10s', window: '120s' },
      },
    },
  };

  const top: Record<string, unknown> = {};
  if (o.caddyfile) {
    const configKey = `caddyfile_${createHash('sha256').update(o.caddyfile.text).digest('hex').slice(0, 12)}`;
    services.caddy = {
      image: 'caddy:2',
      // Host mode: Caddy sees the visitors' addresses (the routing mesh would hide them).
      ports: [80, 443].flatMap((port) => [
        { target: port, published: port, protocol: 'tcp', mode: 'host' },
        ...(port === 443 ? [{ target: port, published: port, protocol: 'udp', mode: 'host' }] : []),
      ]),
      configs: [{ source: configKey, target: '/etc/caddy/Caddyfile' }],
      volumes: ['releases:/app/dist:ro', 'caddy-data:/data', 'caddy-config:/config'],
      networks: ['rose'],
      healthcheck: healthy(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:2019/config/'], '10s'),
      deploy: {
        mode: 'replicated',
        replicas: 1,
        update_config: { parallelism: 1, order: 'stop-first', failure_action: 'rollback', monitor: '30s' },
        restart_policy: { condition: 'any', delay: '5s' },
      },
    };
    top.configs = { [configKey]: { file: o.caddyfile.path } };
  }

  const volumes: Record<string, unknown> = {
    releases: o.releasesVolume ? { ...(o.releasesVolume.driver ? { driver: o.releasesVolume.driver } : {}), ...(o.releasesVolume.driverOpts ? { driver_opts: o.releasesVolume.driverOpts } : {}) } : {},
    ...(o.caddyfile ? { 'caddy-data': {}, 'caddy-config': {} } : {}),
  };
  const stack = {
    version: '3.8',
    services,
    networks: { rose: { driver: 'overlay', ipam: { config: [{ subnet: o.subnet }] } } },
    volumes,
    ...(o.secrets.length > 0 ? { secrets: Object.fromEntries(o.secrets.map((name) => [name, { external: true }])) } : {}),
    ...top,
  };
  const header = [
    `# Docker Swarm stack "${o.stackName}", written by \`rose deploy\` for ${o.image}. Do not edit: deploy again.`,
    `# docker stack deploy --compose-file <this file> --with-registry-auth --prune ${o.stackName}`,
  ];
  // `docker stack deploy` interpolates $VAR in every value; $$ is a literal $.
  return `${header.join('\n')}\n${stringify(escapeDollars(stack), { lineWidth: 0 })}`;
}

function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  return value;
}

const deployCommandSchema = z.strictObject({
  stackName,
  // Passed as its own argument after --compose-file; "-" would mean standard input.
  stackFile: z.string().min(1).regex(/^[^-\n][^\n]*$/, 'a file path, not starting with "-"'),
});

/**
 * The command that rolls the stack out: `docker stack deploy --compose-file F
 * --with-registry-auth --prune --detach=false NAME`. `--with-registry-auth` lets every node
 * pull the tagged image from a private registry; `--prune` removes services the file no
 * longer has (the file is the whole stack); `--detach=false` (Docker CLI 26 or later) waits
 * until the services converge or Swarm has rolled a failed update back.
 */
export function swarmDeployCommand(options: { stackFile: string; stackName: string }): { command: string; args: string[] } {
  const parsed = parseWithFriendlyErrors(deployCommandSchema, options);
  if (!parsed.ok) {
    throw new RoseError({ code: 'deploy-targets', title: 'Swarm deploy refused', message: `Cannot run docker stack deploy:\n${parsed.problems.map((p) => `  ${p}`).join('\n')}`, hint: 'Fix the target in deploy/targets.json. Nothing was deployed.' });
  }
  const { stackFile, stackName: name } = parsed.value;
  return { command: 'docker', args: ['stack', 'deploy', '--compose-file', stackFile, '--with-registry-auth', '--prune', '--detach=false', name] };
}
