/**
 * `npm run bench [-- --posts N --runs R --ghost-posts M --products P --producers Q --only blog|ghost|static|live|build|market|jobs|caddy|deploy|fanout|inbox --keep]`:
 * the blog build benchmark (build vs bare Astro, targeted rebuild), the Ghost sync
 * benchmark and the static path benchmark (`rose serve` vs plain node:http, precompression),
 * the CLI start-up benchmark (`rose --help`, `rose db status`), the market build benchmark
 * (blog-only vs blog + market builds in the same run, `rose build market`, a targeted
 * rebuild after a sale), the supplier-scrape benchmark (`--pages N --polite-pages M`: a loopback
 * shop crawled with the rate limit off, end to end into PGlite, and under the default limit),
 * the outbox benchmark (`--jobs N`: enqueue→start latency polling vs LISTEN/NOTIFY, jobs/s with
 * 1 and 4 worker processes on Postgres), Caddy in front (our Caddyfile vs a bare file_server, an
 * island through Caddy vs direct), `rose deploy` of a one-post change over ssh on loopback (vs the
 * whole release sent over the same ssh), ActivityPub fan-out of one post to many loopback hosts
 * (vs a signed fetch loop) and inbox deliveries/s verified (vs Fedify skipping verification),
 * each in its own process so one's memory does not count against the other.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const { values } = parseArgs({ args, options: { only: { type: 'string' } }, strict: false });
const benches = { blog: 'blog-build.bench.ts', ghost: 'ghost-sync.bench.ts', static: 'static-serve.bench.ts', live: 'edit-to-live.bench.ts', build: 'full-build.bench.ts', socket: 'embedded-socket.bench.ts', cli: 'cli-startup.bench.ts', market: 'market-build.bench.ts', scrape: 'scrape.bench.ts', jobs: 'jobs.bench.ts', caddy: 'caddy.bench.ts', deploy: 'deploy.bench.ts', fanout: 'federation-fanout.ts', inbox: 'federation-inbox.ts' } as const;
const selected = values.only ? [values.only as keyof typeof benches] : (Object.keys(benches) as (keyof typeof benches)[]);
for (const name of selected) {
  if (!(name in benches)) {
    console.error(`--only must be one of ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  const r = spawnSync(process.execPath, [path.join(here, benches[name]), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log('');
}
