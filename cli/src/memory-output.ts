import type { Output } from './output.ts';

export interface MemoryOutput extends Output {
  /** Everything written, one entry per line, `info` and `error` alike. */
  readonly lines: string[];
  /** Questions asked, in order. */
  readonly questions: string[];
  text(): string;
}

/**
 * An Output that keeps what commands print, for running command functions in-process in
 * tests. With `answers` it behaves like a terminal and answers each question in turn;
 * without, nobody is there to ask (like a pipe or cron).
 */
export function createMemoryOutput(opts: { answers?: string[]; verbose?: boolean } = {}): MemoryOutput {
  const lines: string[] = [];
  const questions: string[] = [];
  const answers = opts.answers ? [...opts.answers] : undefined;
  return {
    lines,
    questions,
    text: () => lines.join('\n'),
    info: (line) => lines.push(line),
    error: (line) => lines.push(line),
    verbose: opts.verbose ?? false,
    isTTY: answers !== undefined,
    ...(answers
      ? {
          ask: async (question: string) => {
            questions.push(question);
            const answer = answers.shift();
            if (answer === undefined) throw new Error(`unexpected question: ${question}`);
            return answer;
          },
        }
      : {}),
  };
}
