import { errorCatalogue, type ErrorCode } from './error-catalogue.ts';

/**
 * A failure the user can act on: broken configuration, an unreachable service, bad input at
 * a boundary. `message` says what happened and why; `hint` says what to do about it.
 * The CLI prints these without a stack trace (unless --verbose). `code` is one of the
 * catalogue's (`error-catalogue.ts`); `title` defaults to the catalogue's title for it.
 */
export class RoseError extends Error {
  readonly title: string;
  readonly hint: string | undefined;
  readonly code: ErrorCode;

  constructor(opts: { code: ErrorCode; title?: string; message: string; hint?: string | undefined; cause?: unknown }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RoseError';
    this.code = opts.code;
    this.title = opts.title ?? errorCatalogue[opts.code].title;
    this.hint = opts.hint;
  }
}

export class ConfigError extends RoseError {
  constructor(message: string, hint?: string) {
    super({ code: 'config-invalid', title: 'Invalid configuration', message, ...(hint ? { hint } : {}) });
    this.name = 'ConfigError';
  }
}

export class DatabaseUnreachableError extends RoseError {
  readonly url: string;
  constructor(url: string, reason: string, cause?: unknown) {
    super({
      code: 'database-unreachable',
      title: 'Database unreachable',
      message: `Could not connect to the database at ${url}: ${reason}`,
      hint: 'Check that Postgres is running and that DATABASE_URL is right, or unset DATABASE_URL to use the embedded database.',
      cause,
    });
    this.name = 'DatabaseUnreachableError';
    this.url = url;
  }
}

export class ContentError extends RoseError {
  readonly file: string;
  constructor(file: string, message: string, hint?: string) {
    super({ code: 'content-invalid', title: 'Invalid content', message: `${file}: ${message}`, ...(hint ? { hint } : {}) });
    this.name = 'ContentError';
    this.file = file;
  }
}

export class PendingMigrationsError extends RoseError {
  readonly pending: readonly string[];
  constructor(pending: readonly string[]) {
    super({
      code: 'migrations-pending',
      title: 'Migrations pending',
      message: `The database is missing ${pending.length} migration(s): ${pending.join(', ')}.`,
      hint: 'Run `rose db migrate` first.',
    });
    this.name = 'PendingMigrationsError';
    this.pending = pending;
  }
}

/** Hides the password of a connection URL so it can be shown in messages and logs. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:****@');
  }
}
