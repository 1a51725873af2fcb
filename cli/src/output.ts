import { createInterface } from 'node:readline/promises';
import { RoseError } from '@rose/core';

export interface Output {
  info(line: string): void;
  error(line: string): void;
  readonly verbose: boolean;
  readonly isTTY: boolean;
  /**
   * Asks a person at the terminal and resolves with the line they type. Absent when
   * nobody can answer (standard input or error is not a terminal): commands that need a
   * confirmation then refuse unless told to go ahead (`--force`).
   */
  readonly ask?: (question: string) => Promise<string>;
}

export function createOutput(opts: { verbose: boolean }): Output {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    info: (line) => process.stdout.write(`${line}\n`),
    error: (line) => process.stderr.write(`${line}\n`),
    verbose: opts.verbose,
    isTTY: Boolean(process.stderr.isTTY),
    ...(interactive ? { ask: askOnTerminal } : {}),
  };
}

async function askOnTerminal(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/**
 * The one place where errors become a message and an exit code. Expected failures
 * (RoseError) print title, message and hint; anything else is a bug and says so.
 * Stack traces only with --verbose. Writes to standard error unless given `write`.
 */
export function reportError(error: unknown, verbose: boolean, write: (text: string) => void = (text) => process.stderr.write(text)): number {
  if (error instanceof RoseError) {
    write(`\n✖ ${error.title}\n${indent(error.message)}\n`);
    if (error.hint) write(`${indent(`→ ${error.hint}`)}\n`);
    if (verbose) write(`${indent(`(code ${error.code}: \`rose errors ${error.code}\` explains it)`)}\n`);
    if (verbose && error.cause) write(`\n${formatCause(error.cause)}\n`);
    if (verbose) write(`\n${error.stack ?? ''}\n`);
    return 1;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  write(`\n✖ Unexpected error: ${e.message}\n`);
  if (verbose) write(`\n${e.stack ?? ''}\n${e.cause ? formatCause(e.cause) : ''}\n`);
  else write('  (run again with --verbose for the stack trace)\n');
  return 1;
}

function formatCause(cause: unknown): string {
  return `Caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
