// Preloaded into benchmarked processes (`node --import`): writes this process's resource
// usage (maxRSS in KiB, CPU µs) to $ROSE_BENCH_RUSAGE_FILE when it exits.
import { writeFileSync } from 'node:fs';

const file = process.env.ROSE_BENCH_RUSAGE_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify(process.resourceUsage()));
  });
}
