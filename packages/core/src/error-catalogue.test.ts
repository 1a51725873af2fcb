import { describe, expect, it } from 'vitest';
import { errorCatalogue, isErrorCode } from './error-catalogue.ts';
import { ConfigError, RoseError } from './errors.ts';

describe('error catalogue', () => {
  it('gives every code a title and an explanation', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(entry.title.length).toBeGreaterThan(3);
      expect(entry.explain.length).toBeGreaterThan(20);
    }
  });

  it('types the code of a RoseError: a typo does not compile; the title defaults to the catalogue\'s', () => {
    const e = new RoseError({ code: 'not-built', message: 'There is no release.' });
    expect(e).toMatchObject({ code: 'not-built', title: 'Site not built', message: 'There is no release.', hint: undefined });
    expect(new RoseError({ code: 'bad-argument', title: 'Invalid email', message: 'x' }).title).toBe('Invalid email');
    // @ts-expect-error: 'not-bulit' is not in the catalogue
    expect(new RoseError({ code: 'not-bulit', title: 'x', message: 'x' }).code).toBe('not-bulit');
    expect(new ConfigError('PORT is bad').code).toBe('config-invalid');
  });

  it('tells codes from other strings', () => {
    expect(isErrorCode('database-locked')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
