import { pino, type Logger } from 'pino';
import type { LogLevel } from '@rose/config';

export type { Logger };

/** JSON logs on stderr (stdout stays for command output). Secrets are redacted by key. */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'databaseUrl', 'redisUrl'], censor: '[redacted]' },
    },
    destination as pino.DestinationStream,
  );
}
