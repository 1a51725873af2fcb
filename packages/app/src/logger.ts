import { pino, type Logger } from 'pino';
import type { LogLevel } from '@rose/config';
import { currentLogContext } from '@rose/observability';

export type { Logger };

/**
 * JSON logs on stderr (stdout stays for command output). Secrets are redacted by key. Every
 * line written while a request or job is handled carries its log context (`reqId`, and
 * `jobId`/`jobType` in the worker), from @rose/observability's AsyncLocalStorage.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'databaseUrl', 'redisUrl'], censor: '[redacted]' },
      // A fresh object each time: pino merges the line's own fields into what this returns.
      mixin: () => ({ ...currentLogContext() }),
    },
    destination as pino.DestinationStream,
  );
}
