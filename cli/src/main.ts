import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { staticPartNames } from '@rose/app/startup';
import { settings } from '@rose/config/settings';
import { roles } from './commands/users.ts';
import type { CommandContext } from './context.ts';
import { createOutput, reportError, type Output } from './output.ts';

// Help texts and option parsing are built from cheap modules only; each command's module
// (and with it the database, Astro, the OpenID provider…) is imported when it runs, so
// `rose --help` stays fast. cli/src/main.test.ts checks what `--help` loads.
const commands = {
  build: () => import('./commands/build.ts'),
  caddy: () => import('./commands/caddy.ts'),
  db: () => import('./commands/db.ts'),
  deploy: () => import('./commands/deploy.ts'),
  dev: () => import('./commands/dev.ts'),
  errors: () => import('./commands/errors.ts'),
  ghost: () => import('./commands/ghost.ts'),
  market: () => import('./commands/market.ts'),
  oauth: () => import('./commands/oauth.ts'),
  release: () => import('./commands/release.ts'),
  serve: () => import('./commands/serve.ts'),
  social: () => import('./commands/social.ts'),
  users: () => import('./commands/users.ts'),
  worker: () => import('./commands/worker.ts'),
};

/** Where a program reads its settings and writes its output; the terminal unless a test says otherwise. */
export interface ProgramIO {
  /** Settings are read from here. */
  env: Record<string, string | undefined>;
  /** What commands print through. */
  output(opts: { verbose: boolean }): Output;
  /** Help and the version. */
  writeOut(text: string): void;
  /** Usage errors and failures. */
  writeErr(text: string): void;
}

const terminal: ProgramIO = {
  env: process.env,
  output: createOutput,
  writeOut: (text) => process.stdout.write(text),
  writeErr: (text) => process.stderr.write(text),
};

/** `rose 0.1.0 (Node.js 24.21.0)`: the version in package.json and the Node running it. */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `rose ${pkg.version} (Node.js ${process.versions.node})`;
}

// Commands that keep the embedded database open for long, where V8's optimised WebAssembly pays
// off. Not `build`: it reads the database once (at 10,000 posts the tier-up doubled its peak
// memory to ~1 GiB and made the read slower).
const longRunning = new Set(['dev', 'serve', 'worker']);

/**
 * The embedded database is Postgres compiled to WebAssembly. With V8's default tiering budget,
 * opening it and reading a few tables gets hundreds of its functions optimised by TurboFan
 * (in background threads the process then waits for at exit), which a short command never
 * recovers: `rose db status` on a 10k-post data dir took 2.3 s of CPU and 750 MiB; with a
 * hundred times the budget 1.2 s and 190 MiB. Code that stays hot is still optimised.
 */
function preferQuickWasmStart(): void {
  setFlagsFromString('--wasm-tiering-budget=1300000000');
}

/** `rose db status` → the `db` command. */
function topLevel(command: Command): Command {
  let c = command;
  while (c.parent?.parent) c = c.parent;
  return c;
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number from 0 to 65535 (0 picks a free port).');
  const n = Number(value);
  if (n > 65535) throw new InvalidArgumentError('expected a whole number from 0 to 65535 (0 picks a free port).');
  return n;
}

function parseHost(value: string): string {
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(value)) throw new InvalidArgumentError('expected a host name or IP address, e.g. localhost or 0.0.0.0.');
  return value;
}

function parseHours(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) < 0.25 || Number(value) > 720) throw new InvalidArgumentError('expected a number of hours from 0.25 to 720, e.g. 24.');
  return Number(value);
}

function parseSteps(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return Number(value);
}

const settingsHelp = () =>
  `\nSettings (environment variables):\n${settings.map((s) => `  ${s.env.padEnd(20)} ${s.description}\n  ${''.padEnd(20)} default: ${s.default}`).join('\n')}\n`;

/** Runs a command body with a context; failures reach `runProgram`, which reports them. */
async function run(program: Command, io: ProgramIO, body: (ctx: CommandContext) => Promise<void>): Promise<void> {
  const [{ createContext }, { ensureAstroKey }] = await Promise.all([import('./context.ts'), import('@rose/app/startup')]);
  const ctx = createContext(io.output({ verbose: Boolean(program.opts().verbose) }), io.env);
  await ensureAstroKey(ctx.config.dataDir);
  await body(ctx);
}

export function createProgram(given: Partial<ProgramIO> = {}): Command {
  const io: ProgramIO = { ...terminal, ...given };
  const program = new Command('rose')
    .description('Rose Ash: build and run the co-op site (blog, market, events, cart, accounts, federation).')
    .version(versionText(), '-V, --version', 'print the version of rose and of Node.js')
    .option('--verbose', 'show debug output and stack traces')
    .configureOutput({ writeOut: io.writeOut, writeErr: io.writeErr })
    .exitOverride()
    .hook('preAction', (_program, action) => {
      if (!longRunning.has(topLevel(action).name())) preferQuickWasmStart();
    })
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .addHelpText('after', settingsHelp);

  const db = program.command('db').description('database: migrations and demo content');
  db.command('migrate')
    .description('apply all pending migrations')
    .action(() => run(program, io, async (ctx) => (await commands.db()).dbMigrate(ctx)));
  db.command('rollback')
    .description('revert the most recent migration(s); asks first when that deletes data, and backs it up')
    .addOption(new Option('--steps <n>', 'how many migrations to revert').argParser(parseSteps).default(1))
    .option('--force', 'do not ask before deleting data (needed when not at a terminal); the backup is still written')
    .action((opts: { steps: number; force?: boolean }) => run(program, io, async (ctx) => (await commands.db()).dbRollback(ctx, opts)));
  db.command('status')
    .description('list migrations and whether each is applied')
    .action(() => run(program, io, async (ctx) => (await commands.db()).dbStatus(ctx)));
  db.command('seed')
    .description('load content/ (markdown + JSON) into the database; idempotent, all or nothing')
    .option('--content <dir>', 'content folder (default: ROSE_CONTENT_DIR or content/)')
    .option('--prune', 'allow removing more than 3 posts, pages, tags or authors the folder no longer has')
    .action((opts: { content?: string; prune?: boolean }) => run(program, io, async (ctx) => (await commands.db()).dbSeed(ctx, opts)));
  db.command('backup')
    .description('dump the whole database to a new file (pg_dump for Postgres; works while rose serve runs)')
    .option('--out <dir>', 'folder for the backup (default: ROSE_DATA_DIR/backups/database)')
    .option('--prune', 'then delete the oldest backups in that folder beyond --keep')
    .addOption(new Option('--keep <n>', 'how many backups --prune keeps (default: 7)').argParser(parseSteps))
    .action((opts: { out?: string; prune?: boolean; keep?: number }) => run(program, io, async (ctx) => (await commands.db()).dbBackup(ctx, opts)));
  db.command('restore')
    .description('replace the database with a backup; asks first when it is not empty')
    .argument('<file>', 'a backup written by rose db backup')
    .option('--force', 'do not ask before replacing a database that is not empty (needed when not at a terminal)')
    .action((file: string, opts: { force?: boolean }) => run(program, io, async (ctx) => (await commands.db()).dbRestore(ctx, file, opts)));

  const users = program.command('users').description('accounts: create, list, change roles');
  const roleOption = () => new Option('--role <role>', 'member, staff or admin').choices(roles);
  users
    .command('create')
    .description('create a confirmed account; the password is read from standard input')
    .requiredOption('--email <email>', 'email address')
    .requiredOption('--name <name>', 'display name')
    .addOption(roleOption().default('member'))
    .option('--password-stdin', 'read the password from standard input')
    .action((opts: { email: string; name: string; role: 'member' | 'staff' | 'admin'; passwordStdin?: boolean }) => run(program, io, async (ctx) => (await commands.users()).usersCreate(ctx, opts)));
  users
    .command('list')
    .description('list accounts with their roles')
    .action(() => run(program, io, async (ctx) => (await commands.users()).usersList(ctx)));
  users
    .command('set-role')
    .description("change an account's role")
    .requiredOption('--email <email>', 'email address')
    .addOption(roleOption().makeOptionMandatory())
    .action((opts: { email: string; role: 'member' | 'staff' | 'admin' }) => run(program, io, async (ctx) => (await commands.users()).usersSetRole(ctx, opts)));
  users
    .command('set-tier')
    .description("mark a member as paying or not: posts for paid members need 'paid'")
    .requiredOption('--email <email>', 'email address')
    .addOption(new Option('--tier <tier>', 'free or paid').choices(['free', 'paid']).makeOptionMandatory())
    .action((opts: { email: string; tier: 'free' | 'paid' }) => run(program, io, async (ctx) => (await commands.users()).usersSetTier(ctx, opts)));

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  const market = program.command('market').description('the market: producers, products, stock and prices, order cycles, supplier scraping');
  const m = () => commands.market();
  const producers = market.command('producers').description('the farms and makers who sell at the market');
  producers
    .command('list')
    .description('list producers')
    .option('--json', 'print JSON')
    .option('--archived', 'include archived producers')
    .action((opts: { json?: boolean; archived?: boolean }) => run(program, io, async (ctx) => (await m()).producersList(ctx, opts)));
  const producerFields = (c: Command, required: boolean) => {
    const name = '--name <name>';
    (required ? c.requiredOption(name, 'display name') : c.option(name, 'display name'))
      .option('--location <place>', 'village or town')
      .option('--website <url>', 'their website (http or https)')
      .option('--email <address>', 'contact email')
      .option('--phone <number>', 'contact phone')
      .option('--story <markdown>', 'their story, in markdown')
      .option('--featured', 'feature them on the market home page')
      .option('--no-featured', 'stop featuring them');
    return c;
  };
  producerFields(producers.command('add').description('add a producer').requiredOption('--slug <slug>', 'address on the site: lowercase letters, digits, hyphens'), true).action(
    (opts: { slug: string; name: string }) => run(program, io, async (ctx) => (await m()).producersAdd(ctx, opts)),
  );
  producerFields(producers.command('update').description("change a producer's details (only the fields given)").argument('<slug>', 'the producer'), false).action(
    (slug: string, opts: object) => run(program, io, async (ctx) => (await m()).producersUpdate(ctx, slug, opts)),
  );
  producers
    .command('archive')
    .description('take a producer and their products off the market (kept for past orders)')
    .argument('<slug>', 'the producer')
    .option('--force', 'do not ask for confirmation')
    .action((slug: string, opts: { force?: boolean }) => run(program, io, async (ctx) => (await m()).producersArchive(ctx, slug, opts)));

  const products = market.command('products').description('products, their variants, stock and prices');
  products
    .command('list')
    .description('list products with their variants, prices and stock')
    .option('--producer <slug>', 'only this producer')
    .option('--category <slug>', 'only this category')
    .option('--json', 'print JSON')
    .option('--archived', 'include archived products')
    .action((opts: { json?: boolean; archived?: boolean; producer?: string; category?: string }) => run(program, io, async (ctx) => (await m()).productsList(ctx, opts)));
  products
    .command('add')
    .description('add a product with its first variant')
    .requiredOption('--slug <slug>', 'address on the site: lowercase letters, digits, hyphens')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--producer <slug>', 'who makes it')
    .option('--category <slug>', 'category')
    .option('--description <text>', 'a sentence or two')
    .requiredOption('--sku <sku>', "the variant's SKU: uppercase letters, digits, hyphens")
    .requiredOption('--unit <unit>', 'how it is sold: bag, jar, each, kg…')
    .option('--size <size>', 'e.g. "500 g"')
    .requiredOption('--price <amount>', 'e.g. 3.50 (in --currency)')
    .option('--currency <code>', 'ISO 4217 code', 'GBP')
    .option('--stock <count>', 'how many there are, or on-demand (made to order)', '0')
    .action((opts: Parameters<Awaited<ReturnType<typeof m>>['productsAdd']>[1]) => run(program, io, async (ctx) => (await m()).productsAdd(ctx, opts)));
  products
    .command('update')
    .description("change a product's details (only the fields given)")
    .argument('<slug>', 'the product')
    .option('--name <name>', 'display name')
    .option('--category <slug>', 'category (none: no category)')
    .option('--description <text>', 'a sentence or two')
    .option('--available', 'offered now')
    .option('--unavailable', 'not offered now (out of season)')
    .action((slug: string, opts: { name?: string; category?: string; description?: string; available?: boolean; unavailable?: boolean }) =>
      run(program, io, async (ctx) => (await m()).productsUpdate(ctx, slug, opts)),
    );
  products
    .command('archive')
    .description('take a product off the market (kept for past orders)')
    .argument('<slug>', 'the product')
    .option('--force', 'do not ask for confirmation')
    .action((slug: string, opts: { force?: boolean }) => run(program, io, async (ctx) => (await m()).productsArchive(ctx, slug, opts)));
  products
    .command('stock')
    .description("set a variant's stock")
    .argument('<sku>', 'the variant')
    .argument('<count>', 'how many there are now, or on-demand')
    .action((sku: string, count: string) => run(program, io, async (ctx) => (await m()).productsStock(ctx, sku, count)));
  products
    .command('price')
    .description("set a variant's price")
    .argument('<sku>', 'the variant')
    .argument('<amount>', 'e.g. 3.50')
    .option('--currency <code>', "ISO 4217 code (default: the variant's)")
    .action((sku: string, amount: string, opts: { currency?: string }) => run(program, io, async (ctx) => (await m()).productsPrice(ctx, sku, amount, opts)));

  const cycles = market.command('cycles').description('order cycles: when ordering opens and closes, and what is offered');
  cycles
    .command('list')
    .description('list order cycles (open, upcoming, closed)')
    .option('--json', 'print JSON')
    .option('--archived', 'include archived cycles')
    .action((opts: { json?: boolean; archived?: boolean }) => run(program, io, async (ctx) => (await m()).cyclesList(ctx, opts)));
  cycles
    .command('add')
    .description('add an order cycle')
    .requiredOption('--slug <slug>', 'lowercase letters, digits, hyphens')
    .requiredOption('--name <name>', 'e.g. "Spring market 2027"')
    .requiredOption('--opens <time>', 'local time in --zone, e.g. 2027-04-01T08:00')
    .requiredOption('--closes <time>', 'local time in --zone, e.g. 2027-04-30T20:00')
    .option('--zone <zone>', 'IANA time zone', 'Europe/London')
    .option('--note <text>', 'pickup or delivery note')
    .option('--producer <slug>', "offer this producer's available products (repeat for more)", collect)
    .option('--product <slug>', 'offer this product (repeat for more)', collect)
    .action((opts: { slug: string; name: string; opens: string; closes: string; zone: string; note?: string; producer?: string[]; product?: string[] }) =>
      run(program, io, async (ctx) => (await m()).cyclesAdd(ctx, opts)),
    );
  cycles
    .command('update')
    .description('change an order cycle (only what is given)')
    .argument('<slug>', 'the cycle')
    .option('--name <name>', 'display name')
    .option('--opens <time>', 'local time, e.g. 2027-04-01T08:00')
    .option('--closes <time>', 'local time, e.g. 2027-04-30T20:00')
    .option('--zone <zone>', 'IANA time zone the times are in')
    .option('--note <text>', 'pickup or delivery note')
    .option('--add-product <slug>', 'offer this product too (repeat for more)', collect)
    .option('--remove-product <slug>', 'stop offering this product (repeat for more)', collect)
    .action((slug: string, opts: { name?: string; opens?: string; closes?: string; zone?: string; note?: string; addProduct?: string[]; removeProduct?: string[] }) =>
      run(program, io, async (ctx) => {
        const { addProduct, removeProduct, ...rest } = opts;
        return (await m()).cyclesUpdate(ctx, slug, { ...rest, ...(addProduct ? { add: addProduct } : {}), ...(removeProduct ? { remove: removeProduct } : {}) });
      }),
    );
  cycles
    .command('archive')
    .description('end and hide an order cycle')
    .argument('<slug>', 'the cycle')
    .option('--force', 'do not ask for confirmation')
    .action((slug: string, opts: { force?: boolean }) => run(program, io, async (ctx) => (await m()).cyclesArchive(ctx, slug, opts)));
  market
    .command('scrape')
    .description("read products and prices from suppliers' websites (content/market/suppliers.json)")
    .argument('[suppliers...]', 'supplier slugs (default: all)')
    .option('--dry-run', 'fetch and report what would change, change nothing')
    .option('--schedule', 'queue the scrape for the worker instead of running it here')
    .addOption(new Option('--every <hours>', 'with --schedule: run again every this many hours').argParser(parseHours))
    .option('--status', 'show the last run of each supplier')
    .option('--json', 'print JSON')
    .addOption(new Option('--allow-private-addresses', 'let fetches reach loopback and private addresses (tests against local sites only)').hideHelp())
    .action((suppliers: string[], opts: { dryRun?: boolean; schedule?: boolean; every?: number; status?: boolean; json?: boolean; allowPrivateAddresses?: boolean }) =>
      run(program, io, async (ctx) => (await m()).marketScrape(ctx, suppliers, opts)),
    );
  market
    .command('audit')
    .description('who changed what in the market, newest first')
    .addOption(new Option('--entity <kind>', 'only this kind').choices(['producer', 'product', 'variant', 'cycle']))
    .option('--slug <slug>', 'only this slug or SKU')
    .addOption(new Option('--limit <n>', 'how many entries').argParser(parseSteps).default(50))
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean; entity?: string; slug?: string; limit: number }) => run(program, io, async (ctx) => (await m()).marketAudit(ctx, opts)));

  const oauth = program.command('oauth').description('the OpenID Connect provider: clients and signing keys');
  const clients = oauth.command('clients').description('applications that may sign users in');
  clients
    .command('add')
    .description('register an application (authorization code + PKCE)')
    .requiredOption('--name <name>', 'name shown on the consent screen')
    .requiredOption('--redirect-uri <uri>', 'exact redirect URI (repeat for more)', collect)
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return (repeat for more)', collect)
    .option('--first-party', 'one of our own parts: no consent screen')
    .option('--confidential', 'give it a client secret (server-side applications)')
    .action((opts: { name: string; redirectUri: string[]; postLogoutRedirectUri?: string[]; firstParty?: boolean; confidential?: boolean }) => run(program, io, async (ctx) => (await commands.oauth()).oauthClientsAdd(ctx, opts)));
  clients
    .command('list')
    .description('list registered applications')
    .action(() => run(program, io, async (ctx) => (await commands.oauth()).oauthClientsList(ctx)));
  clients
    .command('remove')
    .description('remove an application and revoke its tokens')
    .argument('<client-id>', 'the client_id to remove')
    .action((clientId: string) => run(program, io, async (ctx) => (await commands.oauth()).oauthClientsRemove(ctx, clientId)));
  oauth
    .command('keys')
    .description('signing keys')
    .command('rotate')
    .description('make a new signing key active; old ones stay published for 2 days')
    .action(() => run(program, io, async (ctx) => (await commands.oauth()).oauthKeysRotate(ctx)));

  const social = program
    .command('social')
    .description('ActivityPub: our actors, posting as a part, what other servers sent us, followers, blocks, keys')
    .addHelpText(
      'after',
      '\nExamples:\n  rose social actors\n  rose social post --as market "The spring order cycle is open until Friday."\n  rose social inbox --all --limit 20\n  rose social followers blog\n  rose social block spam.example\n  rose social keys rotate --yes\n',
    );
  const sc = () => commands.social();
  social
    .command('actors')
    .description('list our actors (the parts, and members who turned on a profile) with their @handle@host addresses')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run(program, io, async (ctx) => (await sc()).socialActors(ctx, opts)));
  social
    .command('post')
    .description("publish a public Note as a part's actor; the running server or `rose worker` delivers it to the actor's followers")
    .requiredOption('--as <actor>', 'the part that speaks: blog, market or events')
    .argument('<text...>', 'the post in Markdown, quoted (up to 5000 characters); @user@host mentions and #hashtags become links')
    .addHelpText('after', '\nExamples:\n  rose social post --as blog "New on the blog: how we choose our growers."\n  rose social post --as events "Apple pressing at the orchard, Saturday 10:00. #cider"\n')
    .action((text: string[], opts: { as: string }) => run(program, io, async (ctx) => (await sc()).socialPost(ctx, text.join(' '), opts)));
  social
    .command('inbox')
    .description('activities other servers sent us, newest first: accepted ones unless --all')
    .option('--all', 'include refused, ignored and duplicate deliveries, with the reason')
    .addOption(new Option('--limit <n>', 'how many (at most 1000)').argParser(parseSteps).default(50))
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean; all?: boolean; limit: number }) => run(program, io, async (ctx) => (await sc()).socialInbox(ctx, opts)));
  social
    .command('followers')
    .description('who follows one of our actors on other servers')
    .argument('<actor>', 'one of our actors: blog, @blog or @blog@host (see `rose social actors`)')
    .option('--pending', 'only follow requests waiting for approval')
    .option('--json', 'print JSON')
    .action((actor: string, opts: { json?: boolean; pending?: boolean }) => run(program, io, async (ctx) => (await sc()).socialFollowers(ctx, actor, opts)));
  social
    .command('block')
    .description('block an account or a whole server for the co-op: their follows end, their posts are hidden, what they send is ignored')
    .argument('<account-or-domain>', '@user@host or an actor URL (one account), or a domain such as spam.example (that server and its subdomains)')
    .addHelpText('after', '\nExamples:\n  rose social block spam.example\n  rose social block @troll@social.example\n')
    .action((target: string) => run(program, io, async (ctx) => (await sc()).socialBlock(ctx, target)));
  social
    .command('unblock')
    .description('lift a block of the whole co-op (posts it hid stay hidden until staff show them again)')
    .argument('<account-or-domain>', 'as given to `rose social block`, or as `rose social blocks` lists it')
    .addHelpText('after', '\nExamples:\n  rose social unblock spam.example\n')
    .action((target: string) => run(program, io, async (ctx) => (await sc()).socialUnblock(ctx, target)));
  social
    .command('blocks')
    .description('list blocks, newest first: what, for whom, by whom')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run(program, io, async (ctx) => (await sc()).socialBlocks(ctx, opts)));
  social
    .command('keys')
    .description("our actors' signing keys")
    .command('rotate')
    .description('give our actors new key pairs (other servers fetch them again); asks first')
    .option('--actor <handle>', 'only this actor (repeat for more; default: all)', collect)
    .option('--yes', 'do not ask (needed when not at a terminal)')
    .action((opts: { actor?: string[]; yes?: boolean }) => run(program, io, async (ctx) => (await sc()).socialKeysRotate(ctx, opts)));

  const ghost = program.command('ghost').description('Ghost CMS: sync the blog, register webhooks');
  ghost
    .command('sync')
    .description('sync posts, pages, tags, authors and navigation from Ghost (incremental after the first run)')
    .option('--full', 'fetch everything, not only what changed since the last sync')
    .action((opts: { full?: boolean }) =>
      run(program, io, async (ctx) => {
        await (await commands.ghost()).ghostSync(ctx, opts);
      }),
    );
  ghost
    .command('webhooks')
    .description('Ghost webhooks')
    .command('install')
    .description('register the blog webhooks in Ghost (needs GHOST_ADMIN_KEY and GHOST_WEBHOOK_SECRET)')
    .option('--target <url>', 'URL Ghost should call (default: ROSE_SITE_URL/api/ghost/webhook)')
    .action((opts: { target?: string }) => run(program, io, async (ctx) => (await commands.ghost()).ghostWebhooksInstall(ctx, opts)));

  program
    .command('build')
    .description('build the static pages from the database into a new release and make it live')
    .argument('[parts...]', `parts to build (${staticPartNames.join(', ')}); default: all. Other parts' pages stay as they are in the live release`)
    .option('--sync', 'sync from Ghost first (needs GHOST_URL)')
    .option('--targeted', 're-render only the pages whose data changed since the live release')
    .option('--fresh', 'run a new Astro build even when the live release was built from the same code')
    .option('--in-process', 'with --targeted: build in this process even when a running `rose serve`/`rose worker` could')
    .option('--wait', 'with --targeted handed to a running server: wait until the release is complete on disk and current, not just served')
    .addOption(new Option('--astro-render', "with a new Astro build, let Astro render the pages on one thread instead of the kept renderer's threads (to compare the two)").hideHelp())
    .addHelpText(
      'after',
      '\nWhen the live release was built from the same code, pages are re-rendered by its kept renderer\n(no Astro/Vite build) and only changed files are written; otherwise Astro builds every part.\n' +
        '\nWith --targeted and a running `rose serve` or `rose worker` (which keep the renderer and the data\nwarm), the server does the rebuild: this command returns once that server serves the new pages\n(with --wait: once the release is complete and current); it builds itself when no server takes it.\nThe server renders with the code it runs: after changing code, run `rose build`.\n',
    )
    .action((parts: string[], opts: { sync?: boolean; targeted?: boolean; fresh?: boolean; astroRender?: boolean; inProcess?: boolean; wait?: boolean }) =>
      run(program, io, async (ctx) => {
        if (opts.sync) await (await commands.ghost()).ghostSync(ctx, {});
        await (await commands.build()).build(ctx, { parts, ...(opts.targeted ? { targeted: true } : {}), ...(opts.fresh ? { fresh: true } : {}), ...(opts.astroRender ? { astroRenders: true } : {}), ...(opts.inProcess ? { inProcess: true } : {}), ...(opts.wait ? { wait: true } : {}) });
      }),
    );

  program
    .command('errors')
    .description('list the error codes rose reports, or explain one')
    .argument('[code]', 'an error code, e.g. not-built')
    .action(async (code?: string) => io.writeOut((await commands.errors()).explainErrors(code)));

  const parseWait = (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) > 3600) throw new InvalidArgumentError('expected a whole number of seconds from 0 to 3600.');
    return Number(value);
  };
  const parseParts = (value: string) => value.split(',').map((p) => p.trim());
  const deployCmd = program
    .command('deploy')
    .description('ship what changed since the last deploy to a target (deploy/targets.json): migrate, seed, build, upload, switch, check health, roll back on failure')
    .argument('[target]', 'a target named in deploy/targets.json (default: its "default", or its only one)')
    .option('--parts <parts>', `re-seed and rebuild only these parts, comma-separated (${staticPartNames.join(', ')}), even if nothing of theirs changed; other parts' changes wait for the next deploy without --parts`, parseParts)
    .option('--dry-run', 'print the plan (changes, migrations, parts) and stop')
    .option('--allow-destructive', 'run migrations that drop tables or columns (they break servers still on the old code)')
    .option('--allow-dirty', 'deploy with uncommitted changes (the next deploy then ships everything)')
    .addOption(new Option('--wait <seconds>', 'wait this long for another deploy of the same database to finish (default: refuse at once)').argParser(parseWait))
    .option('--targets <file>', 'the targets file (default: deploy/targets.json)')
    .action((target: string | undefined, opts: { parts?: string[]; dryRun?: boolean; allowDestructive?: boolean; allowDirty?: boolean; wait?: number; targets?: string }) =>
      run(program, io, async (ctx) => (await commands.deploy()).deploy(ctx, io.env, target, opts)),
    );
  deployCmd
    .command('history')
    .description("list a target's deploys, newest first: who, when, commit, parts, result")
    .argument('[target]', 'a target named in deploy/targets.json')
    .option('--json', 'print JSON')
    .addOption(new Option('--limit <n>', 'how many').argParser(parseSteps).default(20))
    .option('--targets <file>', 'the targets file (default: deploy/targets.json)')
    // `--targets` given before or after `history` (commander hands it to `deploy` when both take it).
    .action((target: string | undefined, opts: { json?: boolean; limit: number; targets?: string }) =>
      run(program, io, async (ctx) => (await commands.deploy()).deployHistory(ctx, io.env, target, { ...opts, targets: opts.targets ?? (deployCmd.opts() as { targets?: string }).targets })),
    );

  program
    .command('caddy')
    .description('Caddy in front of the app servers')
    .command('config')
    .description('write a Caddyfile for ROSE_SITE_URL and ROSE_PART_ORIGINS: static files from the live release, the rest to the app servers')
    .option('--out <file>', 'write it to this file (default: print it)')
    .option('--upstream <host:port>', 'an app server (`rose serve`) as Caddy reaches it; repeat for each (default: HOST:PORT)', collect)
    .option('--dist <dir>', 'the releases folder on the machine Caddy runs on (default: ROSE_DIST_DIR)')
    .action((opts: { out?: string; upstream?: string[]; dist?: string }) => run(program, io, async (ctx) => (await commands.caddy()).caddyConfig(ctx, opts)));

  const release = program.command('release').description('releases: every build is one; the live one is <dist>/current');
  release
    .command('list')
    .description('list kept releases, newest first, marking the live one')
    .action(() => run(program, io, async (ctx) => (await commands.release()).releaseList(ctx)));
  release
    .command('rollback')
    .description('make the previous release (or --to <id>) live again')
    .option('--to <id>', 'release id to switch to (see `rose release list`)')
    .action((opts: { to?: string }) => run(program, io, async (ctx) => (await commands.release()).releaseRollback(ctx, opts)));

  const serverOptions = (cmd: Command) =>
    cmd
      .addOption(new Option('-p, --port <n>', 'port to listen on (default: PORT or 4321)').argParser(parsePort))
      .addOption(new Option('-H, --host <host>', 'interface to listen on (default: HOST or localhost)').argParser(parseHost));

  program
    .command('worker')
    .description('drain the outbox: Ghost syncs and rebuilds queued by webhooks (`rose serve` runs one itself unless --no-worker)')
    .option('--once', 'handle what is ready, then exit')
    .action((opts: { once?: boolean }) => run(program, io, async (ctx) => (await commands.worker()).runWorker(ctx, opts, untilSignal)));

  serverOptions(program.command('serve').description('serve the built site and its dynamic routes'))
    .option('--no-worker', 'do not run the outbox worker in this process (run `rose worker` instead)')
    .action((opts: { port?: number; host?: string; worker: boolean }) =>
    run(program, io, async (ctx) => {
      const server = await (await commands.serve()).serveSite(ctx, { port: opts.port ?? ctx.config.server.port, host: opts.host ?? ctx.config.server.host, worker: opts.worker });
      ctx.out.info(`Rose Ash is serving ${ctx.config.distDir} at ${server.url}  (Ctrl+C to stop)`);
      await untilSignal(() => {
        ctx.out.info('Stopping…');
        return server.stop();
      });
      ctx.out.info('Stopped.');
    }),
  );

  serverOptions(program.command('dev').description('run the Astro dev server over the same data (live reload)')).action(
    (opts: { port?: number; host?: string }) =>
      run(program, io, async (ctx) => {
        const server = await (await commands.dev()).devServer(ctx, { port: opts.port ?? ctx.config.server.port, host: opts.host ?? ctx.config.server.host });
        ctx.out.info(`Rose Ash dev server at ${server.url}  (Ctrl+C to stop)`);
        await untilSignal(() => server.stop());
      }),
  );

  return program;
}

function untilSignal(onSignal: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (received) {
        process.stderr.write(`Received ${signal} again; exiting now.\n`);
        process.exit(130);
      }
      received = true;
      onSignal().then(resolve, reject);
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}

/**
 * Parses `args` (without `node rose`) and runs the command; resolves with the exit code.
 * Usage errors, help and failures are written through `io`, never thrown.
 */
export async function runProgram(args: string[], given: Partial<ProgramIO> = {}): Promise<number> {
  const io: ProgramIO = { ...terminal, ...given };
  const program = createProgram(io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander already printed the message (or the help, or the version); keep its exit code.
    if (error instanceof CommanderError) return error.exitCode;
    return reportError(error, Boolean(program.opts().verbose), io.writeErr);
  }
}

export async function main(argv: string[]): Promise<void> {
  const code = await runProgram(argv.slice(2));
  // Build tooling can leave timers or workers behind; a finished command must not hang.
  process.exit(code);
}
