/**
 * Every code a `RoseError` can carry, with a generic title and what it means for the person
 * who sees it. A code not listed here does not compile; `rose errors` lists them and
 * `rose errors <code>` explains one. Each error still says its own message and hint.
 */
export const errorCatalogue = {
  'config-invalid': { title: 'Invalid configuration', explain: 'A setting (environment variable or .env) has a value Rose Ash cannot use. The message names the variable, what is expected and what was given; `rose --help` lists every setting.' },
  'content-invalid': { title: 'Invalid content', explain: 'A file under the content folder (ROSE_CONTENT_DIR) does not have the shape Rose Ash reads: the message names the file and the field.' },
  'database-unreachable': { title: 'Database unreachable', explain: 'The database could not be opened or reached. Check DATABASE_URL and that Postgres runs, or unset DATABASE_URL to use the embedded database.' },
  'database-locked': { title: 'Database in use', explain: 'The embedded database is held by another process that does not share it. Stop that process, or run the command while `rose serve`/`rose dev` runs (they share it).' },
  'migrations-pending': { title: 'Migrations pending', explain: 'The database is older than the code. Run `rose db migrate`.' },
  'migration-failed': { title: 'Migration failed', explain: 'A migration stopped with an error; the database is left at the last migration that succeeded. The message names it.' },
  'rollback-refused': { title: 'Rollback refused', explain: 'Rolling back this migration would delete data; the message says which and how to go ahead anyway.' },
  'backup-failed': { title: 'Backup failed', explain: 'The database could not be dumped (pg_dump missing or older than the server, the database unreachable, the disk full); no backup file was left behind.' },
  'backup-invalid': { title: 'Not a usable backup', explain: 'The file given to `rose db restore` is missing, not a backup `rose db backup` wrote, incomplete or changed since, or for the other kind of database. Nothing was changed.' },
  'restore-refused': { title: 'Restore refused', explain: 'Restoring would replace data that is there (tables with rows or applied migrations), or another process holds the embedded database. Nothing was changed; the message says how to go ahead.' },
  'restore-failed': { title: 'Restore failed', explain: 'The restore stopped with an error and was rolled back: the database is as it was before.' },
  'seed-needs-prune': { title: 'Seed would delete content', explain: 'The content folder no longer has posts the database has. `rose db seed --prune` deletes them; without it nothing changes.' },
  'not-built': { title: 'Site not built', explain: 'There is no built release to serve yet. Run `rose build`.' },
  'build-failed': { title: 'Build failed', explain: 'The site build stopped; the message says at which step and why. The live release is unchanged.' },
  'release-layout': { title: 'Unexpected releases folder', explain: 'The releases folder under ROSE_DATA_DIR has something Rose Ash did not write.' },
  'release-damaged': { title: 'Release damaged', explain: 'A release folder is incomplete or changed since it was built; build again or roll back to another release.' },
  'release-not-found': { title: 'No such release', explain: 'The release named does not exist. `rose releases list` shows what there is.' },
  'listen-failed': { title: 'Cannot listen', explain: 'The server could not open its port: another program uses it, or the address is not on this machine. Change PORT or HOST.' },
  'bad-argument': { title: 'Invalid argument', explain: 'A command was given a value it cannot use; the message says which and why.' },
  'bad-image': { title: 'Unreadable image', explain: 'An image could not be read or is not a JPEG, PNG, WebP or AVIF file.' },
  'not-found': { title: 'Not found', explain: 'The account, client or item named does not exist; the hint says how to list what there is.' },
  conflict: { title: 'Already exists', explain: 'What you asked for clashes with something already there (an email with an account, a last administrator).' },
  'ghost-not-configured': { title: 'Ghost not configured', explain: 'The command needs a Ghost site: set GHOST_URL and GHOST_CONTENT_KEY.' },
  'ghost-admin-missing': { title: 'Ghost Admin key missing', explain: 'Managing Ghost webhooks needs GHOST_ADMIN_KEY (a custom integration in Ghost Admin).' },
  'ghost-webhook-secret-missing': { title: 'Ghost webhook secret missing', explain: 'Webhooks are verified with GHOST_WEBHOOK_SECRET: set it (16 characters or more) before installing them.' },
  'ghost-unauthorized': { title: 'Ghost rejected the API key', explain: 'Ghost answered 401/403: the key is wrong or revoked. Copy it again from Ghost Admin > Integrations.' },
  'ghost-not-found': { title: 'Not a Ghost site', explain: 'The API address answered 404: GHOST_URL is not a Ghost site, or not the address its API answers on.' },
  'ghost-rejected': { title: 'Ghost refused the request', explain: 'Ghost refused the request itself (another 4xx); the message gives its reason.' },
  'ghost-server': { title: 'Ghost is failing', explain: 'Ghost answered with server errors after the retries. Try again later or check Ghost\'s logs.' },
  'ghost-network': { title: 'Ghost unreachable', explain: 'The connection to Ghost failed after the retries (refused, DNS, reset).' },
  'ghost-timeout': { title: 'Ghost did not answer in time', explain: 'Ghost gave no complete answer in time, after the retries.' },
  'ghost-malformed': { title: 'Unexpected answer from Ghost', explain: 'Ghost\'s answer was not JSON or not the shape Rose Ash relies on.' },
  'http-status': { title: 'Request refused', explain: 'Another service answered with a status the request did not accept; the message names the service and the status.' },
  'http-timeout': { title: 'No answer in time', explain: 'Another service gave no complete answer within the time allowed per attempt.' },
  'http-deadline': { title: 'Deadline passed', explain: 'The overall deadline of a request to another service passed, retries included.' },
  'http-network': { title: 'Service unreachable', explain: 'The connection to another service failed (refused, DNS, reset).' },
  'http-too-large': { title: 'Answer too large', explain: 'Another service answered with more than the request accepts.' },
  'http-malformed': { title: 'Unexpected answer', explain: 'Another service answered with something that is not JSON where JSON was expected.' },
  'http-aborted': { title: 'Request cancelled', explain: 'A request to another service was cancelled before it finished.' },
  'mail-smtp': { title: 'Mail not sent', explain: 'The SMTP server (SMTP_URL) could not be reached or refused the message; the hint says whether sending again can help.' },
  'mail-file': { title: 'Mail not sent', explain: 'Writing the message to the mail folder under ROSE_DATA_DIR failed (without SMTP_URL, mail is written there).' },
  'deploy-targets': { title: 'Deploy targets invalid', explain: 'deploy/targets.json is missing, unreadable or names something wrong, or a setting a target reads from the environment is not set. The message names the field.' },
  'deploy-git': { title: 'Nothing to deploy from', explain: 'A deploy records the commit it ships, so it runs from a git checkout with at least one commit.' },
  'deploy-dirty': { title: 'Uncommitted changes', explain: 'Tracked files differ from the commit a deploy would record. Commit them, or pass --allow-dirty (the next deploy then ships everything).' },
  'deploy-locked': { title: 'Another deploy is running', explain: 'One deploy at a time runs against a database (a Postgres advisory lock). Wait for it, or pass --wait to queue behind it.' },
  'deploy-destructive': { title: 'Destructive migration', explain: 'A pending migration drops or renames a table or column that servers still on the previous code use. Ship it in two steps (expand/contract), or pass --allow-destructive.' },
  'deploy-failed': { title: 'Deploy step failed', explain: 'A step of the deploy (upload, switch, restart, docker) failed; the message names it. What was live stays live unless the message says it was switched.' },
  'deploy-unhealthy': { title: 'Deploy unhealthy', explain: 'After the switch the site did not answer /api/ready with the new release in time, and there was no earlier release to go back to.' },
  'deploy-rolled-back': { title: 'Deploy rolled back', explain: 'The new release failed its health check through the front door, so the previous release was made live again. `rose deploy history` has the steps.' },
} as const satisfies Record<string, { title: string; explain: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}
