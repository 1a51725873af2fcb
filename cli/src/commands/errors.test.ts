import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '@rose/core';
import { runProgram } from '../main.ts';

async function rose(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runProgram(args, { env: { ROSE_LOG_LEVEL: 'silent', PORT: 'not-a-port' }, writeOut: (t) => void (stdout += t), writeErr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

describe('rose errors', () => {
  it('lists every code with its title, without reading the (here broken) settings', async () => {
    const r = await rose(['errors']);
    expect(r.code).toBe(0);
    for (const [code, entry] of Object.entries(errorCatalogue)) expect(r.stdout).toMatch(new RegExp(`^  ${code} +${entry.title.replace(/[()]/g, '\\$&')}$`, 'm'));
  });

  it('explains one code, and names an unknown one', async () => {
    expect(await rose(['errors', 'not-built'])).toMatchObject({ code: 0, stdout: `not-built: Site not built\n\n${errorCatalogue['not-built'].explain}\n` });
    const unknown = await rose(['errors', 'not-bulit']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('"not-bulit" is not an error code of rose.');
    expect(unknown.stderr).toContain('rose errors');
  });
});
