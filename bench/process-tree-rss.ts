import { readdirSync, readFileSync } from 'node:fs';

/**
 * Samples the resident memory of a process and all its descendants (threads included) every
 * `everyMs`, summed: a build that hands work to a child process or threads is measured as the
 * machine sees it, not by its largest process alone (getrusage's maxrss of the parent would
 * leave a child out, GNU time's the sum). Linux only (/proc; children found through each
 * thread's `children` list, so a sample reads a few files, not the whole process table).
 * Call `stop()` for the peak in MiB.
 */
export function sampleTreeRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return ''; // gone meanwhile
    }
  };
  const childrenOf = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return [];
    }
    return tasks.flatMap((t) => read(`/proc/${p}/task/${t}/children`).split(' ').filter(Boolean).map(Number));
  };
  const sample = () => {
    let kib = 0;
    for (const todo = [pid]; todo.length > 0; ) {
      const p = todo.pop()!;
      kib += Number(/^VmRSS:\s+(\d+) kB$/m.exec(read(`/proc/${p}/status`))?.[1] ?? 0);
      todo.push(...childrenOf(p));
    }
    peak = Math.max(peak, kib);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak / 1024;
    },
  };
}
