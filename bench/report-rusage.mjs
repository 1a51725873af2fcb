// Preloaded into benchmarked processes (`node --import`): writes this process's resource
// usage (maxRSS in KiB, CPU µs) to $ROSE_BENCH_RUSAGE_FILE when it exits.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.ROSE_BENCH_RUSAGE_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ ...process.resourceUsage(), maxRSS: peakRss() }));
  });
}

// Linux keeps getrusage's maxrss across fork and exec, so a process started by a big one
// (a benchmark holding a database) reports its parent's peak. VmHWM is this process's own.
function peakRss() {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux: the rusage figure is the best there is
  }
  return process.resourceUsage().maxRSS;
}
