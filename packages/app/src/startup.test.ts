import { describe, expect, it } from 'vitest';
import { loadConfig } from '@rose/config';
import { repoRoot } from '@rose/testing';
import { staticPartNames } from './startup.ts';
import { staticSources } from './wire-site.ts';

describe('staticPartNames', () => {
  it('names exactly the parts the build pipeline has static sources for (the help text lists them)', () => {
    const config = loadConfig({}, { root: repoRoot });
    expect(staticSources(config).map((s) => s.part)).toEqual([...staticPartNames]);
  });
});
