import { RoseError } from './errors.ts';

/**
 * Checks the parts asked for (`rose build <parts>`) against the parts with static pages;
 * `[]` means all of them. Throws a `bad-argument` RoseError naming the unknown ones.
 *
 * @example
 * resolvePartNames(['blog', 'market'], ['blog']); // ['blog']
 */
export function resolvePartNames(known: readonly string[], requested: readonly string[]): string[] {
  const unknown = requested.filter((p) => !known.includes(p));
  if (unknown.length > 0) {
    throw new RoseError({
      code: 'bad-argument',
      title: 'Unknown part',
      message: `No static part called ${unknown.map((p) => `"${p}"`).join(', ')}.`,
      hint: `Parts with static pages: ${known.join(', ')}. Run \`rose build\` with no arguments to build them all.`,
    });
  }
  return requested.length ? [...new Set(requested)] : [...known];
}
