/**
 * Caddy in front: `npm run bench -- --only caddy [--seconds 5 --rounds 3 --rebuild]`.
 *
 * 1. Builds a small release (the demo content, embedded database) with the real `rose build`,
 *    kept under .rose/bench/caddy and reused by the next run (`--rebuild`: a new one).
 * 2. Starts `rose serve --no-worker` on it, Caddy (Debian's package) with the Caddyfile
 *    `rose caddy config` writes in front of it, and a second Caddy with only
 *    `file_server { precompressed br gzip }` on the same release folder: Caddy serving the
 *    file with no app and none of our rules in the path, the baseline.
 * 3. Static page (`/blog/`, brotli): both Caddys loaded at the same time, each by its own
 *    `wrk --latency` (they share the machine alike whatever else runs on it), `--rounds` times;
 *    req/s, p99 latency and the CPU each Caddy spends per request (from /proc, far steadier
 *    than req/s on a busy machine). Ratio: median over rounds of ours / baseline.
 * 4. Server island (the account menu, a cached fragment): through Caddy and straight to
 *    `rose serve`, one after the other (both would load the same rose serve), in alternating
 *    order each round; req/s and p99, ratio through / direct.
 * Needs `caddy` and `wrk` (apt-get install -y caddy wrk); without wrk it stops and says so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCaddyConfig } from '@rose/deploy';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, rebuild: { type: 'boolean', default: false } }, strict: false });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) fail('--seconds must be a whole number from 1 to 60');
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) fail('--rounds must be a whole number from 1 to 10');
for (const tool of ['caddy', 'wrk']) {
  if (spawnSync(tool, ['--version'], { encoding: 'utf8' }).error) fail(`this benchmark needs \`${tool}\` (apt-get install -y ${tool})`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const load = () => os.loadavg()[0]!.toFixed(1);

const scratch = path.join(root, '.rose', 'bench', 'caddy');
if (values.rebuild) await fs.rm(scratch, { recursive: true, force: true });
await fs.mkdir(scratch, { recursive: true });
const reuse = await fs.access(path.join(scratch, 'dist', 'current')).then(() => true, () => false);
const [caddyPort, basePort, appPort] = (await freePorts(3)) as [number, number, number];
const site = `http://127.0.0.1:${caddyPort}`;
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  ROSE_DATA_DIR: path.join(scratch, '.rose'),
  ROSE_DIST_DIR: path.join(scratch, 'dist'),
  ROSE_CONTENT_DIR: path.join(root, 'content'),
  ROSE_SITE_URL: site,
  ROSE_TRUSTED_PROXIES: '127.0.0.1',
  ROSE_LOG_LEVEL: 'warn',
  ASTRO_TELEMETRY_DISABLED: '1',
};
const rose = path.join(root, 'cli', 'bin', 'rose.js');
const children: ChildProcess[] = [];

try {
  log(`Caddy in front: our Caddyfile vs Caddy's bare file_server, and an island through Caddy vs straight to rose serve (load average ${load()} on ${os.availableParallelism()} cores, ${spawnSync('caddy', ['version'], { encoding: 'utf8' }).stdout.trim().split(' ')[0]})`);
  log(reuse ? `  reusing the release in ${path.relative(root, scratch)} (--rebuild for a new one)` : '  building a release of the demo content…');
  for (const args of reuse ? [['db', 'migrate']] : [['db', 'migrate'], ['db', 'seed'], ['build']]) {
    const r = spawnSync(process.execPath, [rose, ...args], { cwd: root, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rose ${args.join(' ')} failed:\n${r.stderr}`);
  }
  const app = await startChild(process.execPath, [rose, 'serve', '--port', String(appPort), '--host', '127.0.0.1', '--no-worker'], (out) => out.includes(`127.0.0.1:${appPort}`));

  const caddyfile = createCaddyConfig({ siteUrl: site, upstreams: [`127.0.0.1:${appPort}`], distDir: env.ROSE_DIST_DIR });
  const client = path.join(env.ROSE_DIST_DIR, 'current', 'client');
  const bare = `{\n\tadmin off\n}\nhttp://127.0.0.1:${basePort} {\n\troot * ${client}\n\tfile_server {\n\t\tprecompressed br gzip\n\t}\n}\n`;
  const ours = await startCaddy('ours', caddyfile, caddyPort);
  const baseline = await startCaddy('bare', bare, basePort);
  await waitFor(async () => (await get(`${site}/api/health`, 'identity').catch(() => undefined))?.status === 200, 30_000, 'Caddy did not reach rose serve');

  const accept = 'gzip, deflate, br';
  const page = await get(`${site}/blog/`, accept);
  const basePage = await get(`http://127.0.0.1:${basePort}/blog/`, accept);
  if (page.status !== 200 || page.headers['content-encoding'] !== 'br' || !page.body.equals(basePage.body)) throw new Error('the two Caddys do not send the same brotli /blog/');
  const islandPath = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec((await get(`${site}/blog/`, 'identity')).body.toString())?.[1]?.replace(/&amp;/g, '&');
  if (!islandPath) throw new Error('no server island on /blog/');
  const island = await get(site + islandPath, accept);
  if (island.status !== 200) throw new Error(`the island answered ${island.status} through Caddy`);
  log(`  load: wrk -t1 -c16 --latency, ${seconds} s per run, ${rounds} round(s); /blog/ is ${page.body.length} bytes brotli, the island ${island.body.length} bytes`);

  // JIT, caches and connection pools warm before anything counts.
  for (const url of [`${site}/blog/`, `http://127.0.0.1:${basePort}/blog/`, site + islandPath, `http://127.0.0.1:${appPort}${islandPath}`]) await wrk(url, accept, 2);

  const statics = { ours: [] as Run[], bare: [] as Run[] };
  const islands = { caddy: [] as Run[], direct: [] as Run[] };
  for (let round = 0; round < rounds; round++) {
    const before = { ours: cpuMicros(ours.pid!), bare: cpuMicros(baseline.pid!) };
    const [o, b] = await Promise.all([wrk(`${site}/blog/`, accept, seconds), wrk(`http://127.0.0.1:${basePort}/blog/`, accept, seconds)]);
    statics.ours.push({ ...o!, cpuPerRequest: perRequest(before.ours, cpuMicros(ours.pid!), o!.requests) });
    statics.bare.push({ ...b!, cpuPerRequest: perRequest(before.bare, cpuMicros(baseline.pid!), b!.requests) });
    const order = round % 2 === 0 ? (['caddy', 'direct'] as const) : (['direct', 'caddy'] as const);
    for (const side of order) {
      const url = side === 'caddy' ? site + islandPath : `http://127.0.0.1:${appPort}${islandPath}`;
      const pids = side === 'caddy' ? [ours.pid!, app.pid!] : [app.pid!];
      const start = pids.map(cpuMicros);
      const run = await wrk(url, accept, seconds);
      const used = pids.map((pid, i) => (cpuMicros(pid) ?? Number.NaN) - (start[i] ?? Number.NaN)).reduce((a, b) => a + b, 0);
      islands[side].push({ ...run, cpuPerRequest: Number.isFinite(used) ? used / run.requests : undefined });
    }
  }

  const row = (name: string, a: Run[], b: Run[], labels: [string, string]) => {
    const ratio = median(a.map((r, i) => r.rate / b[i]!.rate));
    const p99 = median(a.map((r, i) => r.p99Ms / b[i]!.p99Ms));
    const cpu = a.every((r) => r.cpuPerRequest !== undefined) && b.every((r) => r.cpuPerRequest !== undefined)
      ? `${median(a.map((r) => r.cpuPerRequest!)).toFixed(0)} / ${median(b.map((r) => r.cpuPerRequest!)).toFixed(0)}`
      : 'n/a';
    log(`  | ${name} | ${labels[0]} ${median(a.map((r) => r.rate)).toFixed(0)} / ${labels[1]} ${median(b.map((r) => r.rate)).toFixed(0)} | ${ratio.toFixed(2)} | ${median(a.map((r) => r.p99Ms)).toFixed(2)} / ${median(b.map((r) => r.p99Ms)).toFixed(2)} | ${p99.toFixed(2)} | ${cpu} |`);
  };
  log('');
  log('  | request | req/s | ratio | p99 ms | p99 ratio | CPU µs/request |');
  log('  |---|---:|---:|---:|---:|---:|');
  row('static page /blog/ (br): our Caddyfile / bare file_server', statics.ours, statics.bare, ['ours', 'bare']);
  row('server island: through Caddy / straight to rose serve', islands.caddy, islands.direct, ['Caddy', 'direct']);
  log(`  (req/s per round: static ours ${statics.ours.map((r) => r.rate.toFixed(0)).join('/')} bare ${statics.bare.map((r) => r.rate.toFixed(0)).join('/')}; island Caddy ${islands.caddy.map((r) => r.rate.toFixed(0)).join('/')} direct ${islands.direct.map((r) => r.rate.toFixed(0)).join('/')})`);
  log('  ratio: median over rounds of the first over the second; CPU: the Caddy process per static request,');
  log('  Caddy + rose serve (through) or rose serve alone (direct) per island request.');
  log(`  load average now ${load()}`);
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('close', r)) : undefined)));
}

interface Run {
  rate: number;
  requests: number;
  p99Ms: number;
  cpuPerRequest?: number | undefined;
}

/** A Caddy running `caddyfile` on `port` (admin endpoint off, its state under the scratch folder). */
async function startCaddy(name: string, caddyfile: string, port: number): Promise<ChildProcess> {
  const file = path.join(scratch, `Caddyfile.${name}`);
  await fs.writeFile(file, caddyfile);
  const adapted = spawnSync('caddy', ['adapt', '--adapter', 'caddyfile', '--config', file], { encoding: 'utf8' });
  if (adapted.status !== 0) throw new Error(`caddy adapt ${name}: ${adapted.stderr}`);
  const json = { ...(JSON.parse(adapted.stdout) as object), admin: { disabled: true }, logging: { logs: { default: { level: 'WARN' } } } };
  await fs.writeFile(`${file}.json`, JSON.stringify(json));
  const caddyEnv = { PATH: process.env.PATH, HOME: scratch, XDG_DATA_HOME: path.join(scratch, 'caddy-data'), XDG_CONFIG_HOME: path.join(scratch, 'caddy-config') };
  const child = spawn('caddy', ['run', '--config', `${file}.json`], { env: caddyEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`caddy (${name}) exited with ${child.exitCode}:\n${out}`);
    return get(`http://127.0.0.1:${port}/robots.txt`, 'identity').then(() => true, () => false);
  }, 30_000, `caddy (${name}) did not start:\n${out}`);
  return child;
}

function startChild(command: string, args: string[], ready: (out: string) => boolean): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready(out)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${out}`)));
  });
}

async function waitFor(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function get(url: string, acceptEncoding: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'Accept-Encoding': acceptEncoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

/** Requests per second and p99 latency against `url` for `secs`; refuses a run with socket errors, timeouts or non-2xx/3xx answers. */
async function wrk(url: string, acceptEncoding: string, secs: number): Promise<Run> {
  // A 10 s timeout: on a busy machine a slow answer is a slow answer (in the p99), not an error.
  const r = await run('wrk', ['-t1', '-c16', `-d${secs}s`, '--timeout', '10s', '--latency', '-H', `Accept-Encoding: ${acceptEncoding}`, url]);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  const requests = /(\d+) requests in/.exec(r.stdout)?.[1];
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(r.stdout);
  if (r.status !== 0 || !rate || !requests || !p99) throw new Error(`wrk failed on ${url}:\n${r.stdout}${r.stderr}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout)?.slice(1).some((n) => n !== '0');
  if (socketErrors || /Non-2xx or 3xx responses/.test(r.stdout)) throw new Error(`errors while loading ${url}:\n${r.stdout}`);
  const p99Ms = Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'];
  return { rate: Number(rate), requests: Number(requests), p99Ms };
}

function run(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** User + system CPU time of a process so far, in microseconds (Linux /proc; undefined elsewhere). */
function cpuMicros(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
  } catch {
    return undefined;
  }
}

function perRequest(before: number | undefined, after: number | undefined, requests: number): number | undefined {
  return before !== undefined && after !== undefined ? (after - before) / requests : undefined;
}

/** `n` different free loopback ports. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) {
    ports.add(
      await new Promise<number>((resolve, reject) => {
        const server = net.createServer().once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const port = (server.address() as net.AddressInfo).port;
          server.close(() => resolve(port));
        });
      }),
    );
  }
  return [...ports];
}
