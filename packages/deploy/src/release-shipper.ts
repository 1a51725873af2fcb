import { formatBytes } from '@rose/core';
import type { ChangePlan } from './change-plan.ts';
import type { Shipper, StepRunner } from './deploy.service.ts';
import type { ReleaseTarget } from './release-targets.ts';

export interface BuiltRelease {
  id: string;
  dir: string;
  /** One line: what was rendered. */
  summary: string;
}

/**
 * Ships site releases to a folder (here or over ssh): build locally, upload with unchanged
 * files hard-linked to the live release there, switch `current`, restart the servers when
 * the code changed (pages alone they pick up by following `current`).
 */
export function createReleaseShipper(deps: {
  target: ReleaseTarget;
  keep: number;
  /** Builds `plan.parts` into a local release; `live` is the release running on the far side. */
  build(plan: ChangePlan, live: string | undefined): Promise<BuiltRelease>;
  hasRestart: boolean;
}): Shipper {
  let code = false;
  const restartIfCode = async (step: StepRunner) => {
    if (code && deps.hasRestart) await step('restart servers (the code changed)', () => deps.target.restart());
  };
  return {
    describe: () => deps.target.describe(),
    live: async () => (await deps.target.inspect()).current,
    async prepare(plan, live, step) {
      code = plan.code;
      const built = await step(`build ${plan.parts.join(', ')}`, () => deps.build(plan, live), (b) => `${b.summary} → ${b.id}`);
      const far = await deps.target.inspect();
      if (!far.releases.includes(built.id)) {
        // Hard links to the live release there (or the newest one) so unchanged files are not sent.
        const linkTo = live && far.releases.includes(live) ? live : far.releases[0];
        await step('upload', () => deps.target.upload(built, linkTo), (s) => `${s.sent} of ${s.files} files sent (${formatBytes(s.bytes)})${linkTo ? `, the rest hard-linked to ${linkTo}` : ''}`);
      }
      return { id: built.id, expectRelease: true };
    },
    async activate(id, step) {
      await step(`switch to ${id}`, () => deps.target.activate(id));
      await restartIfCode(step);
    },
    async cleanUp(step) {
      await step('delete old releases', () => deps.target.prune(deps.keep), (ids) => (ids.length ? ids.join(', ') : 'none'));
    },
  };
}
