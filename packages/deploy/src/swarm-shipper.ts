import { promises as fs } from 'node:fs';
import path from 'node:path';
import { $ } from 'zx';
import { RoseError } from '@rose/core';
import type { Shipper } from './deploy.service.ts';
import { renderSwarmStack, swarmDeployCommand } from './swarm-stack.ts';
import type { SwarmTargetConfig } from './targets-config.ts';

/**
 * Ships to a Docker Swarm: the code as an image tagged with the commit (built here and
 * pushed), the stack file written with that tag, `docker stack deploy` to roll it out (Swarm
 * starts new tasks before stopping old ones and rolls back a failed update by itself). A
 * rollback deploys the stack again with the previous tag. The containers build their pages
 * at start, so the health check cannot ask for a release id: it asks for readiness.
 */
export function createSwarmShipper(opts: { target: SwarmTargetConfig; root: string; stackFile: string; siteUrl: string }): Shipper {
  const { target } = opts;
  const docker = $({ quiet: true, cwd: opts.root });
  const run = async (what: string, args: string[]) => {
    try {
      return (await docker`docker ${args}`).stdout;
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
      throw new RoseError({ code: 'deploy-failed', title: 'Deploy step failed', message: `${what}: ${detail.split('\n').slice(-3).join(' / ')}`, hint: 'Check that `docker info` reaches a Swarm manager from here and that you are logged in to the registry.', cause: error });
    }
  };
  const tagFor = (commit: string) => `${target.image}:${commit.slice(0, 12)}${commit.endsWith('+dirty') ? '-dirty' : ''}`;
  const stackFor = async (image: string) => {
    let caddyfile: { path: string; text: string } | undefined;
    if (target.caddyfile) {
      const file = path.resolve(opts.root, target.caddyfile);
      const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new RoseError({ code: 'deploy-targets', title: 'Caddyfile missing', message: `Target "${target.name}" puts Caddy in front with ${file}, which cannot be read (${error.code ?? error.message}).`, hint: 'Write it with `rose caddy config --out …`, or remove "caddyfile" from the target.' });
      });
      caddyfile = { path: file, text };
    }
    return renderSwarmStack({ stackName: target.stack, image, replicas: target.replicas, siteUrl: opts.siteUrl, env: {}, secrets: target.secrets, ...(caddyfile ? { caddyfile } : {}) });
  };
  return {
    describe: () => `the Swarm stack ${target.stack} (${target.image})`,
    async live() {
      // What the app service runs now, asked from the manager; unknown when it cannot be reached.
      const out = await docker`docker service inspect ${`${target.stack}_app`} --format ${'{{.Spec.TaskTemplate.ContainerSpec.Image}}'}`.nothrow();
      const image = out.exitCode === 0 ? out.stdout.trim().replace(/@sha256:[0-9a-f]+$/, '') : '';
      return image.startsWith(`${target.image}:`) ? image : undefined;
    },
    async prepare(_plan, _live, step, commit) {
      const tag = tagFor(commit);
      await step(`build image ${tag}`, () => run('docker build', ['build', '--pull', '--tag', tag, '.']));
      await step(`push image ${tag}`, () => run('docker push', ['push', tag]));
      return { id: tag, expectRelease: false };
    },
    async preflight(commit) {
      // The stack file is checked before anything changes (migrations run before the image).
      await stackFor(tagFor(commit));
    },
    async activate(image, step) {
      const text = await stackFor(image);
      await fs.mkdir(path.dirname(opts.stackFile), { recursive: true });
      await fs.writeFile(opts.stackFile, text);
      const { command, args } = swarmDeployCommand({ stackFile: opts.stackFile, stackName: target.stack });
      await step(`docker stack deploy ${target.stack} (${image})`, () => run(`${command} ${args.join(' ')}`, args));
    },
  };
}
