/**
 * Static path benchmark: `npm run bench -- --only static [--seconds 5 --rounds 3 --files 15000 --rebuild]`.
 *
 * 1. Builds a small release (the demo content, embedded database) with the real `rose build`,
 *    kept under .rose/bench/static-serve and reused by the next run (`--rebuild`: a new one).
 * 2. Starts `rose serve --no-worker` on it, and a plain `node:http` server (another child
 *    process) that answers every request with the bytes `rose serve` sent for it, from memory:
 *    the same precompressed page and island fragment with the same headers (security headers,
 *    validators, caching): the ceiling for Node. A second row compares with the page sent
 *    with only its content headers (what the required headers themselves cost).
 * 3. Loads both at the same time, each with its own `wrk` (Debian package `wrk`; without it,
 *    a Node keep-alive client in a child process, which is slower and makes the ratio look
 *    better than it is), `--rounds` times, and reports the median ratio: a static page
 *    (`/blog/`, brotli) and a server island (rendered by Astro, cached fragment), after a
 *    warm-up. Target: static page ≥ 0.8 × plain node:http. Also the CPU time each server
 *    spends per request (from /proc), which a busy shared machine disturbs far less.
 * 4. Times `precompressTree` on `--files` pages made from the release's own pages (each made
 *    unique), on disk under .rose/ and on a tmpfs (/dev/shm) when there is one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { precompressTree } from '@rose/static-files';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, files: { type: 'string', default: '15000' }, rebuild: { type: 'boolean', default: false } },
  strict: false,
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const fileCount = Number(values.files);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) fail('--seconds must be a whole number from 1 to 60');
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) fail('--rounds must be a whole number from 1 to 10');
if (!Number.isInteger(fileCount) || fileCount < 0 || fileCount > 200_000) fail('--files must be a whole number from 0 to 200000');

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Kept between runs: the release is reused unless `--rebuild` (serving does not depend on
// how fresh the pages are).
const scratch = path.join(root, '.rose', 'bench', 'static-serve');
if (values.rebuild) await fs.rm(scratch, { recursive: true, force: true });
await fs.mkdir(scratch, { recursive: true });
const reuse = await fs.access(path.join(scratch, 'dist', 'current')).then(() => true, () => false);
const env = { PATH: process.env.PATH, HOME: process.env.HOME, ROSE_DATA_DIR: path.join(scratch, '.rose'), ROSE_DIST_DIR: path.join(scratch, 'dist'), ROSE_CONTENT_DIR: path.join(root, 'content'), ROSE_LOG_LEVEL: 'warn', ASTRO_TELEMETRY_DISABLED: '1' };
const rose = path.join(root, 'cli', 'bin', 'rose.js');
const children: ChildProcess[] = [];
const cleanup = async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('close', r)) : undefined)));
};

try {
  log(`Static path: rose serve vs plain node:http sending the same bytes (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores)`);
  log(reuse ? `  reusing the release in ${path.relative(root, scratch)} (--rebuild for a new one)` : '  building a release of the demo content…');
  for (const args of reuse ? [['db', 'migrate']] : [['db', 'migrate'], ['db', 'seed'], ['build']]) {
    const r = spawnSync(process.execPath, [rose, ...args], { cwd: root, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rose ${args.join(' ')} failed:\n${r.stderr}`);
  }
  const roseUrl = await startChild([rose, 'serve', '--port', '0', '--host', '127.0.0.1', '--no-worker'], /(http:\/\/127\.0\.0\.1:\d+)\//);

  // What rose serves, captured once: the baseline sends exactly these bytes.
  const accept = 'gzip, deflate, br';
  const page = await get(`${roseUrl}/blog/`, accept);
  if (page.status !== 200 || page.headers['content-encoding'] !== 'br') throw new Error(`/blog/ answered ${page.status} ${page.headers['content-encoding'] ?? 'uncompressed'}`);
  const islandPath = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec((await get(`${roseUrl}/blog/`, 'identity')).body.toString())?.[1]?.replace(/&amp;/g, '&');
  if (!islandPath) throw new Error('no server island on /blog/');
  const island = await get(roseUrl + islandPath, accept);
  if (island.status !== 200) throw new Error(`the island answered ${island.status}`);
  // The same bytes on the wire: body and headers as rose sent them (Node adds Date and the
  // connection headers to both). `?minimal`: the page with only the headers it needs to be read.
  const sameHeaders = (h: http.IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)));
  const replies = {
    '/blog/': { headers: sameHeaders(page.headers), body: page.body.toString('base64') },
    '/blog/?minimal': { headers: { 'content-type': page.headers['content-type'], 'content-encoding': 'br', 'content-length': String(page.body.length) }, body: page.body.toString('base64') },
    [islandPath]: { headers: sameHeaders(island.headers), body: island.body.toString('base64') },
  };
  const baselineFile = path.join(scratch, 'plain-server.mjs');
  await fs.writeFile(
    baselineFile,
    `import http from 'node:http';
const replies = new Map(Object.entries(${JSON.stringify(replies)}).map(([p, r]) => [p, { ...r, body: Buffer.from(r.body, 'base64') }]));
const server = http.createServer((req, res) => {
  const r = replies.get(req.url);
  if (!r) { res.writeHead(404); return res.end(); }
  res.writeHead(200, r.headers);
  res.end(r.body);
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port + '/'));
process.on('SIGTERM', () => server.close(() => process.exit(0)) && server.closeAllConnections());
`,
  );
  const plainUrl = await startChild([baselineFile], /(http:\/\/127\.0\.0\.1:\d+)\//);

  const hasWrk = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
  log(`  load: ${hasWrk ? 'wrk -t1 -c16' : 'Node keep-alive client (16 sockets) — install `wrk` for a truer figure'}, ${seconds} s per run, ${rounds} round(s), both servers loaded at once`);
  log(`  static page /blog/: ${page.body.length} bytes brotli; island: ${island.body.length} bytes ${island.headers['content-encoding'] ?? 'uncompressed'}`);
  const targets = [
    { name: 'static page', path: '/blog/', plainPath: '/blog/', target: 0.8 },
    { name: 'static page vs plain with minimal headers', path: '/blog/', plainPath: '/blog/?minimal', target: undefined },
    { name: 'server island', path: islandPath, plainPath: islandPath, target: undefined },
  ];
  const servers = { rose: { url: roseUrl, pid: children[0]!.pid! }, plain: { url: plainUrl, pid: children[1]!.pid! } };
  // JIT and caches warm before anything counts (the first seconds of a fresh process are slower).
  const pathOf = (t: (typeof targets)[number], side: 'rose' | 'plain') => (side === 'rose' ? t.path : t.plainPath);
  for (const t of targets) for (const side of ['rose', 'plain'] as const) await load(servers[side].url + pathOf(t, side), accept, hasWrk, 2);
  const results = targets.map(() => ({ rose: [] as Run[], plain: [] as Run[] }));
  // Both servers are loaded at the same time, each by its own wrk: they share the machine
  // alike whatever else runs on it, so each round's ratio is a fair comparison (a busy shared
  // machine makes one-after-the-other runs differ by 2-3× from one second to the next).
  for (let round = 0; round < rounds; round++) {
    for (const [i, t] of targets.entries()) {
      const before = { rose: cpuMicros(servers.rose.pid), plain: cpuMicros(servers.plain.pid) };
      const [rose, plain] = await Promise.all((['rose', 'plain'] as const).map((side) => load(servers[side].url + pathOf(t, side), accept, hasWrk, seconds)));
      for (const [side, run] of [['rose', rose!], ['plain', plain!]] as const) {
        const after = cpuMicros(servers[side].pid);
        const start = before[side];
        results[i]![side].push({ ...run, cpuPerRequest: start !== undefined && after !== undefined ? (after - start) / run.requests : undefined });
      }
    }
  }
  log('');
  log('  | request | rose serve req/s | plain node:http req/s | ratio | target | CPU µs/request rose / plain | CPU ratio |');
  log('  |---|---:|---:|---:|---|---:|---:|');
  let met = true;
  for (const [i, t] of targets.entries()) {
    const { rose, plain } = results[i]!;
    const ratio = median(rose.map((r, k) => r.rate / plain[k]!.rate));
    if (t.target !== undefined && ratio < t.target) met = false;
    const cpuKnown = rose.every((r, k) => r.cpuPerRequest !== undefined && plain[k]!.cpuPerRequest !== undefined);
    const cpu = cpuKnown
      ? `${median(rose.map((r) => r.cpuPerRequest!)).toFixed(0)} / ${median(plain.map((r) => r.cpuPerRequest!)).toFixed(0)} | ${median(rose.map((r, k) => plain[k]!.cpuPerRequest! / r.cpuPerRequest!)).toFixed(2)}`
      : 'n/a | n/a';
    log(
      `  | ${t.name} | ${median(rose.map((r) => r.rate)).toFixed(0)} | ${median(plain.map((r) => r.rate)).toFixed(0)} | ${ratio.toFixed(2)} | ${t.target === undefined ? '—' : `≥ ${t.target} ${ratio >= t.target ? 'met' : 'NOT met'}`} | ${cpu} |`,
    );
  }
  log(`  (req/s per run: ${targets.map((t, i) => `${t.name} rose ${results[i]!.rose.map((x) => x.rate.toFixed(0)).join('/')} plain ${results[i]!.plain.map((x) => x.rate.toFixed(0)).join('/')}`).join('; ')})`);
  log('  ratio: median over rounds of rose/plain, both loaded at once; CPU ratio: plain CPU per request');
  log('  over rose CPU per request (from /proc), median over rounds.');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');

  if (fileCount > 0) {
    log('');
    log(`Precompression of ${fileCount} pages (brotli 5 + gzip 6, skipping small files):`);
    const client = path.join(await fs.realpath(path.join(scratch, 'dist', 'current')), 'client');
    const pages = (await fs.readdir(client, { recursive: true })).filter((f) => f.endsWith('.html'));
    const bodies = await Promise.all(pages.map((f) => fs.readFile(path.join(client, f), 'utf8')));
    const places = [{ name: 'disk (.rose/)', dir: path.join(scratch, 'precompress') }];
    if (await fs.access('/dev/shm').then(() => true, () => false)) places.push({ name: 'tmpfs (/dev/shm)', dir: path.join('/dev/shm', `rose-precompress-${Date.now()}`) });
    for (const place of places) {
      try {
        let bytes = 0;
        for (let i = 0; i < fileCount; i++) {
          // Each page unique (compressors see no repeats across files, as with real posts).
          const body = bodies[i % bodies.length]!.replace('</title>', ` — ${i}</title>`).replace('<main', `<main data-n="${i * 7919}"`);
          const file = path.join(place.dir, 'blog', `post-${i}`, 'index.html');
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.writeFile(file, body);
          bytes += Buffer.byteLength(body);
        }
        spawnSync('sync');
        const cpu = process.cpuUsage();
        const summary = await precompressTree(place.dir);
        const used = process.cpuUsage(cpu);
        log(
          `  ${place.name}: ${summary.seconds.toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU (${(used.system / 1e6).toFixed(1)} s system) for ${summary.files} files (${(bytes / 1024 / 1024).toFixed(0)} MiB → br ${(summary.brotliBytes / 1024 / 1024).toFixed(0)} MiB, gzip ${(summary.gzipBytes / 1024 / 1024).toFixed(0)} MiB), ${(summary.files / summary.seconds).toFixed(0)} files/s`,
        );
        const again = await precompressTree(place.dir);
        log(`    again, nothing changed: ${again.seconds.toFixed(2)} s (${again.upToDate} variants up to date)`);
      } finally {
        await fs.rm(place.dir, { recursive: true, force: true });
      }
    }
  }
  log('');
  log(`Static page at ≥ 80% of plain node:http: ${met ? 'met' : 'NOT met'} (load average now ${os.loadavg()[0]!.toFixed(1)})`);
} finally {
  await cleanup();
}

function startChild(args: string[], ready: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1]!.replace(/\/$/, ''));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
  });
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

interface Run {
  rate: number;
  requests: number;
  cpuPerRequest?: number | undefined;
}

/** User + system CPU time of a process so far, in microseconds (Linux /proc; undefined elsewhere). */
function cpuMicros(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Requests per second against `url` for `secs`; refuses a run with errors or non-200 answers. */
async function load(url: string, acceptEncoding: string, wrk: boolean, secs: number): Promise<Run> {
  if (wrk) {
    const r = await run('wrk', ['-t1', '-c16', `-d${secs}s`, '-H', `Accept-Encoding: ${acceptEncoding}`, url]);
    const rate = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
    const requests = /(\d+) requests in/.exec(r.stdout)?.[1];
    if (r.status !== 0 || !rate || !requests) throw new Error(`wrk failed on ${url}:\n${r.stdout}${r.stderr}`);
    if (/Non-2xx or 3xx responses|Socket errors/.test(r.stdout)) throw new Error(`errors while loading ${url}:\n${r.stdout}`);
    return { rate: Number(rate), requests: Number(requests) };
  }
  const script = `
    import http from 'node:http';
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const end = Date.now() + ${secs * 1000};
    let done = 0, bad = 0;
    const one = () => new Promise((resolve) => {
      http.get(${JSON.stringify(url)}, { agent, headers: { 'Accept-Encoding': ${JSON.stringify(acceptEncoding)} } }, (res) => {
        res.resume(); res.on('end', () => { if (res.statusCode === 200) done++; else bad++; resolve(); });
      }).on('error', () => { bad++; resolve(); });
    });
    const worker = async () => { while (Date.now() < end) await one(); };
    const t = performance.now();
    await Promise.all(Array.from({ length: 16 }, worker));
    console.log(JSON.stringify({ rate: done / ((performance.now() - t) / 1000), requests: done, bad }));
    agent.destroy();`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script]);
  const { rate, requests, bad } = JSON.parse(r.stdout) as { rate: number; requests: number; bad: number };
  if (bad > 0) throw new Error(`${bad} failed requests while loading ${url}`);
  return { rate, requests };
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
