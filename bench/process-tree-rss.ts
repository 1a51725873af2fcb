import { readdirSync, readFileSync } from 'node:fs';

/**
 * Samples the resident memory of a process and all its descendants (threads included) every
 * `everyMs`, summed: a build that hands work to a child process or threads is measured as the
 * machine sees it, not by its largest process alone (getrusage's maxrss of the parent would
 * leave a child out, GNU time's the sum). Linux only (/proc). Call `stop()` for the peak in MiB.
 */
export function sampleTreeRss(pid: number, everyMs = 50): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const children = new Map<number, number[]>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // Fields after the command name (which may hold spaces or parentheses): state, ppid, …
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const list = children.get(ppid) ?? [];
        list.push(Number(name));
        children.set(ppid, list);
      } catch {
        // gone meanwhile
      }
    }
    let kib = 0;
    for (const todo = [pid]; todo.length > 0; ) {
      const p = todo.pop()!;
      try {
        kib += Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        // gone meanwhile
      }
      todo.push(...(children.get(p) ?? []));
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
