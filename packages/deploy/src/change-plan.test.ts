import { describe, expect, it } from 'vitest';
import { classifyChanges, restrictToParts } from './change-plan.ts';

const parts = ['blog', 'market'];

describe('classifyChanges', () => {
  it('ships only the market when only its content changed', () => {
    const plan = classifyChanges(['content/market/products/hillside-farm.json', 'content/market/images/eggs.jpg'], { parts });
    expect(plan).toMatchObject({ parts: ['market'], seed: ['market'], code: false, migrations: false, empty: false });
    expect(plan.reasons.join('\n')).toContain('content of market changed');
  });

  it('ships only the blog for posts, tags, authors and their images', () => {
    expect(classifyChanges(['content/posts/a.md', 'content/tags.json', 'content/images/orchard.jpg'], { parts })).toMatchObject({ parts: ['blog'], seed: ['blog'], code: false });
  });

  it('ships every part when what every page shows changed (site settings, navigation)', () => {
    expect(classifyChanges(['content/navigation.json'], { parts })).toMatchObject({ parts: ['blog', 'market'], seed: ['blog', 'market'], code: false });
  });

  it('ships everything for shared code, config or dependencies, and says which files', () => {
    for (const file of ['packages/core/src/money.ts', 'sites/pages/index.astro', 'astro.config.ts', 'package-lock.json', 'cli/src/main.ts']) {
      const plan = classifyChanges([file, 'content/market/market.json'], { parts });
      expect(plan).toMatchObject({ parts: ['blog', 'market'], code: true });
      expect(plan.reasons[0]).toContain(file);
    }
  });

  it('rebuilds every part when migrations changed', () => {
    expect(classifyChanges(['migrations/20270101000000_x.ts'], { parts })).toMatchObject({ parts: ['blog', 'market'], migrations: true, code: false, seed: [] });
  });

  it('ignores docs, tests and benchmarks: nothing to deploy', () => {
    const plan = classifyChanges(['docs/adr/0013-x.md', 'test/deploy.e2e.test.ts', 'packages/blog/src/x.test.ts', 'bench/run.ts', 'README.md', 'packages/deploy/CONTEXT.md'], { parts });
    expect(plan).toMatchObject({ parts: [], empty: true, code: false });
    expect(plan.ignored).toHaveLength(6);
  });

  it('counts what builds the image as code for a swarm target only', () => {
    expect(classifyChanges(['Dockerfile'], { parts })).toMatchObject({ empty: true });
    expect(classifyChanges(['Dockerfile', '.dockerignore'], { parts, kind: 'swarm' })).toMatchObject({ code: true, parts });
  });

  it('ships everything when the last deploy is unknown', () => {
    expect(classifyChanges('all', { parts })).toMatchObject({ parts, seed: parts, code: true, migrations: true, empty: false });
  });

  it('narrows to --parts', () => {
    const plan = restrictToParts(classifyChanges(['content/posts/a.md', 'content/market/market.json'], { parts }), ['market']);
    expect(plan).toMatchObject({ parts: ['market'], seed: ['market'] });
    expect(restrictToParts(classifyChanges(['packages/core/src/money.ts'], { parts }), ['blog'])).toMatchObject({ parts: ['blog'], seed: ['blog'], code: true });
  });
});
