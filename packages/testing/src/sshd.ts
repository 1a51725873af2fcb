import { execFile, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './cli.ts';
import { spawnWatched } from './watchdog.ts';

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  /** The account ssh logs into: the user running the tests (sshd can only log in as itself unless it runs as root). */
  user: string;
  /** `user@127.0.0.1`: ssh's destination, and the host part of rsync's `user@127.0.0.1:path`. */
  destination: string;
  /** The throwaway client private key (ed25519, no passphrase). */
  identityFile: string;
  /** Holds only `[127.0.0.1]:PORT ssh-ed25519 …` of this server's host key: no trust on first use. */
  knownHostsFile: string;
  /** ssh's options for this server (`ssh ...sshArgs destination command`). */
  sshArgs: string[];
  /** The same as one command line, usable as rsync's `-e` and in a shell (paths single-quoted when needed). */
  sshCommand: string;
  /** A folder the deploys write into: `opts.root`, or a fresh one removed by stop(). */
  root: string;
  /** The last lines sshd logged (connections, refusals), for test failure messages. */
  output(): string;
  /** Kills sshd and removes its temp folder (keys, config, and `root` unless the caller gave it). */
  stop(): Promise<void>;
}

const host = '127.0.0.1';

function sshdBinary(): string {
  // sshd re-executes itself for each connection and insists on an absolute path.
  return process.env.ROSE_SSHD ?? '/usr/sbin/sshd';
}

/** Single-quotes a word for sh and for rsync's `-e` splitting (which knows quotes, not backslashes). */
function quoteWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (word.includes("'")) throw new Error(`startSshd: a path with a single quote cannot go into rsync's -e: ${word}`);
  return `'${word}'`;
}

function run(command: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
    });
  });
}

async function keygen(file: string, comment: string): Promise<void> {
  const result = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  if (result.code !== 0) throw new Error(`ssh-keygen failed (exit ${result.code}): ${result.stderr}`);
}

function sshdConfig(c: { port: number; dir: string; user: string; asRoot: boolean }): string {
  return `# A throwaway sshd for one test, on loopback only.
ListenAddress ${host}
Port ${c.port}
HostKey ${path.join(c.dir, 'host_ed25519')}
PidFile ${path.join(c.dir, 'sshd.pid')}
AuthorizedKeysFile ${path.join(c.dir, 'authorized_keys')}
# The key files live in a temp folder whose parents sshd does not vouch for.
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
PermitRootLogin ${c.asRoot ? 'prohibit-password' : 'no'}
AllowUsers ${c.user}
PermitUserEnvironment no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
# Tests and benchmarks may open many connections at once; the default starts refusing at 10.
MaxStartups 100
LogLevel INFO
Subsystem sftp internal-sftp
`;
}

/** Keeps the last lines a process printed. */
function outputTail(max = 60) {
  const kept: string[] = [];
  let partial = '';
  return {
    push(chunk: string) {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      kept.push(...parts);
      if (kept.length > max) kept.splice(0, kept.length - max);
    },
    text: () => [...kept, partial].join('\n').trim(),
  };
}

interface Attempt {
  dir: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  tail: ReturnType<typeof outputTail>;
}

/**
 * Starts a real OpenSSH server (Debian's openssh-server, `ROSE_SSHD`, default /usr/sbin/sshd)
 * on 127.0.0.1 and a free port, with a fresh host key and client key (ed25519), public-key login
 * only, for the user running the tests. Resolves once `ssh … true` succeeds through it. Run as
 * root, sshd logs in as root (`PermitRootLogin prohibit-password`) and needs /run/sshd, which is
 * created if missing; run as another user, sshd can log in only as that same user. If the test
 * process dies without calling stop(), a watchdog kills sshd and removes its folder.
 *
 * @example
 * const sshd = await startSshd();
 * afterAll(() => sshd.stop());
 * execFileSync('ssh', [...sshd.sshArgs, sshd.destination, `mkdir -p ${sshd.root}/releases`]);
 * execFileSync('rsync', ['-a', '-e', sshd.sshCommand, 'dist/', `${sshd.destination}:${sshd.root}/releases/1/`]);
 */
export async function startSshd(opts: { root?: string; timeoutMs?: number } = {}): Promise<Sshd> {
  const binary = sshdBinary();
  try {
    await fs.access(binary, fs.constants.X_OK);
  } catch {
    throw new Error(`startSshd: no sshd at ${binary}. Install Debian's openssh-server (apt-get install openssh-server) or set ROSE_SSHD to its absolute path.`);
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const asRoot = process.getuid?.() === 0;
  const user = os.userInfo().username;
  // sshd run as root refuses to start without its privilege separation directory.
  if (asRoot) await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  // Another process may take the free port before sshd binds it: then start over on a new one.
  let attempt: Attempt | undefined;
  for (let tries = 1; !attempt; tries++) {
    const started = await launch({ binary, user, asRoot, deadline });
    if (started.ok) attempt = started.attempt;
    else if (!started.portTaken || tries >= 3) throw new Error(`sshd did not start: ${started.reason}`);
  }
  const { dir, port, child, exited, tail } = attempt;
  const identityFile = path.join(dir, 'client_ed25519');
  const knownHostsFile = path.join(dir, 'known_hosts');
  const root = opts.root ?? path.join(dir, 'root');
  await fs.mkdir(root, { recursive: true });
  const sshArgs = [
    '-F', 'none', // neither ~/.ssh/config nor /etc/ssh/ssh_config
    '-i', identityFile,
    '-p', String(port),
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=10',
    '-o', 'LogLevel=ERROR',
  ];
  const destination = `${user}@${host}`;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // The watchdog stops sshd, waits for it and removes the folder when its stdin closes.
      child.stdin?.end();
      await exited;
      await fs.rm(dir, { recursive: true, force: true, maxRetries: 5 });
    })();
    return stopped;
  };

  try {
    // Poll a real login: the listening socket alone does not prove keys and config work.
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode})`);
      const result = await run('ssh', [...sshArgs, destination, 'true']);
      if (result.code === 0) break;
      if (Date.now() > deadline) throw new Error(`ssh ${destination} true failed within ${timeoutMs} ms (exit ${result.code}): ${result.stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`sshd on ${host}:${port} is not usable: ${reason}\n--- sshd output ---\n${tail.text()}`, { cause: error });
  }

  return {
    host,
    port,
    user,
    destination,
    identityFile,
    knownHostsFile,
    sshArgs,
    sshCommand: ['ssh', ...sshArgs].map(quoteWord).join(' '),
    root,
    output: tail.text,
    stop,
  };
}

type Launched = { ok: true; attempt: Attempt } | { ok: false; portTaken: boolean; reason: string };

/** One try: a fresh folder with keys and config, sshd started under the watchdog, until it listens or exits. */
async function launch(c: { binary: string; user: string; asRoot: boolean; deadline: number }): Promise<Launched> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-sshd-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    await Promise.all([keygen(path.join(dir, 'host_ed25519'), 'rose-test-sshd-host'), keygen(path.join(dir, 'client_ed25519'), 'rose-test-client')]);
    await fs.copyFile(path.join(dir, 'client_ed25519.pub'), path.join(dir, 'authorized_keys'));
    const [keyType, key] = (await fs.readFile(path.join(dir, 'host_ed25519.pub'), 'utf8')).trim().split(/\s+/);
    await fs.writeFile(path.join(dir, 'known_hosts'), `[${host}]:${port} ${keyType} ${key}\n`);
    const config = path.join(dir, 'sshd_config');
    await fs.writeFile(config, sshdConfig({ port, dir, user: c.user, asRoot: c.asRoot }));

    const spawned = await spawnWatched(c.binary, ['-D', '-e', '-f', config], { tmp: dir, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
    child = spawned;
    const tail = outputTail();
    const exited = new Promise<void>((resolve) => spawned.once('close', () => resolve()));
    let spawnError: Error | undefined;
    spawned.on('error', (error) => (spawnError = error));
    const listening = new Promise<boolean>((resolve) => {
      const onData = (d: Buffer) => {
        tail.push(d.toString());
        if (tail.text().includes(`Server listening on ${host} port ${port}`)) resolve(true);
      };
      spawned.stdout!.on('data', onData);
      spawned.stderr!.on('data', onData);
      void exited.then(() => resolve(false));
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, c.deadline - Date.now()))));
    const outcome = await Promise.race([listening, timedOut]);
    clearTimeout(timer);
    if (outcome === true) return { ok: true, attempt: { dir, port, child: spawned, exited, tail } };
    spawned.stdin!.end();
    await exited;
    const reason = spawnError?.message ?? (outcome === 'timeout' ? 'it did not listen in time' : `it exited (${spawned.exitCode})`);
    return { ok: false, portTaken: /Address already in use/.test(tail.text()), reason: `${reason}\n--- sshd output ---\n${tail.text()}` };
  } catch (error) {
    child?.stdin?.end();
    throw error;
  } finally {
    if (!child || child.exitCode !== null) await fs.rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}
