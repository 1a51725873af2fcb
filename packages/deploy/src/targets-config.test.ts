import { describe, expect, it } from 'vitest';
import { parseTargets, pickTarget, resolveTargetEnv } from './targets-config.ts';

const file = (targets: unknown, extra: object = {}) => JSON.stringify({ targets, ...extra });

describe('deploy targets', () => {
  it('reads local, ssh and swarm targets with defaults', () => {
    const t = parseTargets(
      file(
        {
          staging: { kind: 'local', path: '/srv/rose/dist', url: 'http://127.0.0.1:8080/', env: { DATABASE_URL: '${STAGING_DB}' } },
          live: { kind: 'ssh', host: 'deploy@coop.example', path: '/srv/rose/dist', url: 'https://coop.example' },
          swarm: { kind: 'swarm', stack: 'rose', image: 'registry.coop.example/rose', url: 'https://coop.example' },
        },
        { default: 'staging' },
      ),
    );
    expect(pickTarget(t, undefined)).toMatchObject({ name: 'staging', kind: 'local', url: 'http://127.0.0.1:8080', keep: 5, healthTimeoutSeconds: 60 });
    expect(pickTarget(t, 'live')).toMatchObject({ kind: 'ssh', port: 22 });
    expect(pickTarget(t, 'swarm')).toMatchObject({ kind: 'swarm', replicas: 2 });
    expect(() => pickTarget(t, 'nope')).toThrow(/no deploy target "nope"/);
  });

  it('names every problem with its path', () => {
    const bad = file({ x: { kind: 'ssh', host: '-oProxyCommand=evil', path: 'relative/../x', url: 'ftp://a' } });
    let message = '';
    try {
      parseTargets(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/targets\.x\.host: user@host/);
    expect(message).toMatch(/targets\.x\.path: an absolute path/);
    expect(message).toMatch(/targets\.x\.url/);
    expect(() => parseTargets('{not json')).toThrow(/not valid JSON/);
    expect(() => parseTargets(file({ a: { kind: 'local', path: '/a', url: 'http://a', surprise: 1 } }))).toThrow(/surprise|Unrecognized/i);
    expect(() => parseTargets(file({ a: { kind: 'local', path: '/a b', url: 'http://a' } }))).toThrow(/letters, digits/);
    expect(() => parseTargets(file({ history: { kind: 'local', path: '/a', url: 'http://a' } }))).toThrow(/"history" is taken by `rose deploy history`/);
  });

  it('needs a target name when there are several and no default', () => {
    const t = parseTargets(file({ a: { kind: 'local', path: '/a', url: 'http://a' }, b: { kind: 'local', path: '/b', url: 'http://b' } }));
    expect(() => pickTarget(t, undefined)).toThrow(/no default/);
  });

  it('reads secrets from the environment and refuses a missing one', () => {
    const t = pickTarget(parseTargets(file({ a: { kind: 'local', path: '/a', url: 'http://a', env: { DATABASE_URL: 'postgres://u:${PW}@db/rose', ROSE_LOG_LEVEL: 'info' } } })), 'a');
    expect(resolveTargetEnv(t, { PW: 's3cret' })).toEqual({ DATABASE_URL: 'postgres://u:s3cret@db/rose', ROSE_LOG_LEVEL: 'info' });
    expect(() => resolveTargetEnv(t, {})).toThrow(/reads PW from the environment/);
  });
});
