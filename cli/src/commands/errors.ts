import { RoseError, errorCatalogue, isErrorCode } from '@rose/core';

/**
 * `rose errors`: every error code with its title; `rose errors <code>`: what that error means.
 * Reads the catalogue only (no settings, no database), so it works when the config is broken.
 */
export function explainErrors(code?: string): string {
  if (code === undefined) {
    const width = Math.max(...Object.keys(errorCatalogue).map((c) => c.length));
    return `${Object.entries(errorCatalogue)
      .map(([c, e]) => `  ${c.padEnd(width)}  ${e.title}`)
      .join('\n')}\n\nrose errors <code> explains one.\n`;
  }
  if (!isErrorCode(code)) {
    throw new RoseError({ code: 'bad-argument', title: 'Unknown error code', message: `"${code}" is not an error code of rose.`, hint: 'Run `rose errors` for the list.' });
  }
  const entry = errorCatalogue[code];
  return `${code}: ${entry.title}\n\n${entry.explain}\n`;
}
