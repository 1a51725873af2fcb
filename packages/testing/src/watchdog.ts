import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

// A server a test starts must not outlive the test process when that process dies without calling
// stop() (killed, crashed, a worker torn down). The server's stdin is a pipe from the test process:
// the pipe closes when that process is gone, whatever killed it.

/**
 * Watchdog loaded into a Node server with `node -r`: when its stdin closes, i.e. the test process
 * that started it is gone without calling stop(), the server exits (or runs `onParentGone`, code
 * that ends it). Its folder `tmp` is removed in the synchronous exit hook, when the server can no
 * longer write into it.
 *
 * @example
 * await fs.writeFile(watchFile, parentWatch(tmp));
 * spawn(node, ['-r', watchFile, 'index.js'], { stdio: ['pipe', 'pipe', 'pipe'] });
 */
export function parentWatch(tmp: string, onParentGone = 'process.exit(0)'): string {
  return `process.on('exit', () => {
  try { require('node:fs').rmSync(${JSON.stringify(tmp)}, { recursive: true, force: true, maxRetries: 3 }); } catch {}
});
process.stdin.on('end', () => ${onParentGone}).on('error', () => ${onParentGone}).resume();
`;
}

/**
 * Starts a program that is not Node (sshd) under a small Node process carrying `parentWatch`:
 * the program's output goes to the returned child's stdout/stderr; when the watchdog's stdin
 * closes — `child.stdin.end()` from stop(), or the test process dying — the program gets SIGTERM
 * (SIGKILL after 5 s), the watchdog reaps it, exits and removes `tmp`. SIGTERM/SIGINT/SIGHUP sent
 * to the watchdog are passed on; the watchdog exits with the program's exit code. The watchdog
 * script is written into `tmp`.
 *
 * @example
 * const child = await spawnWatched('/usr/sbin/sshd', ['-D', '-e', '-f', config], { tmp });
 * // later, to stop it: child.stdin.end(), then wait for 'close'
 */
export async function spawnWatched(command: string, args: string[], opts: { tmp: string; env?: NodeJS.ProcessEnv }): Promise<ChildProcess> {
  const script = `const { spawn } = require('node:child_process');
const command = ${JSON.stringify(command)};
const child = spawn(command, ${JSON.stringify(args)}, { stdio: ['ignore', 'inherit', 'inherit'] });
const running = () => child.exitCode === null && child.signalCode === null;
child.on('error', (error) => { console.error(command + ': ' + error.message); process.exit(127); });
// Exiting only once the program has exited: the watchdog reaps it (PID 1 in a container may not).
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (require('node:os').constants.signals[signal] ?? 0) : 1)));
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
function stopChild() {
  if (!running()) return;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 5000);
}
// Registered before parentWatch's hook: the program dies before its folder goes.
process.on('exit', () => { if (running()) child.kill('SIGKILL'); });
${parentWatch(opts.tmp, 'stopChild()')}`;
  const watchFile = path.join(opts.tmp, 'watchdog.cjs');
  await fs.writeFile(watchFile, script);
  // Not the test's NODE_OPTIONS (vitest's loaders) in a plain Node helper.
  const env = { ...(opts.env ?? process.env) };
  delete env.NODE_OPTIONS;
  return spawn(process.execPath, [watchFile], { env, stdio: ['pipe', 'pipe', 'pipe'] });
}
