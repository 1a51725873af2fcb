import fs from 'node:fs';
import { loadContent, type ContentBundle, type SeedSummary } from '@rose/blog';
import { loadMarketContent, type MarketBundle, type MarketSeedSummary } from '@rose/market';
import { RoseError } from '@rose/core';
import type { Output } from './output.ts';

export type ReseedOutcome = { ok: true; summary: SeedSummary; market?: MarketSeedSummary | undefined } | { ok: false; error: unknown };

export interface ContentWatch {
  stop(): Promise<void>;
}

/**
 * `rose dev`: when anything under `dir` changes, re-seeds the database from it once the edits
 * settle, exactly as `rose db seed` does (every file validated first, then one transaction;
 * removing many items still needs `rose db seed --prune`). Problems are printed and the
 * database is left as it was; the dev server keeps running.
 *
 * @example
 * const watch = watchContent({ dir: config.contentDir, seed: (bundle) => services.blog.seed(bundle), out });
 * // … later
 * await watch.stop();
 */
export function watchContent(opts: {
  dir: string;
  /** Applies a validated bundle in one transaction (`services.blog.seed`). */
  seed: (bundle: ContentBundle) => Promise<SeedSummary>;
  /** Applies the validated market folder (`services.market.seed`), when the content has one. */
  seedMarket?: (bundle: MarketBundle) => Promise<MarketSeedSummary>;
  out: Output;
  /** Quiet time after the last change before seeding (editors write in bursts). */
  debounceMs?: number;
  /** Called after each re-seed (tests, and `rose dev` to reload the browser). */
  onReseeded?: (outcome: ReseedOutcome) => void;
}): ContentWatch {
  if (!fs.existsSync(opts.dir)) {
    opts.out.error(`No content folder at ${opts.dir}: edits will not be re-seeded (set ROSE_CONTENT_DIR).`);
    return { stop: async () => {} };
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const reseed = async (): Promise<void> => {
    let outcome: ReseedOutcome;
    try {
      const bundle = await loadContent(opts.dir);
      const marketBundle = opts.seedMarket ? await loadMarketContent(opts.dir) : null;
      const summary = await opts.seed(bundle);
      const market = marketBundle && opts.seedMarket ? await opts.seedMarket(marketBundle) : undefined;
      outcome = { ok: true, summary: market && !market.unchanged ? { ...summary, unchanged: false } : summary, market };
      const s = summary;
      if (market && !market.unchanged) {
        const changes = (['producers', 'products', 'variants', 'cycles', 'categories', 'images'] as const)
          .filter((k) => market[k].added + market[k].updated + market[k].removed > 0)
          .map((k) => `${k} +${market[k].added} ~${market[k].updated} -${market[k].removed}`);
        opts.out.info(`Market re-seeded from ${opts.dir}: ${changes.join(', ')}.`);
      }
      if (!s.unchanged) {
        const counts = (['posts', 'pages', 'tags', 'authors', 'images'] as const)
          .map((k) => [k, s[k]] as const)
          .filter(([, c]) => c.added + c.updated + c.removed > 0)
          .map(([k, c]) => `${k} +${c.added} ~${c.updated} -${c.removed}`);
        if (s.navigation.changed) counts.push('navigation');
        if (s.site.changed) counts.push('site settings');
        opts.out.info(`Content re-seeded from ${opts.dir}: ${counts.join(', ')}.`);
      }
    } catch (error) {
      outcome = { ok: false, error };
      const e = error instanceof RoseError ? error : undefined;
      const hint = e?.code === 'seed-needs-prune' ? 'Nothing was changed. If that is what you meant, run `rose db seed --prune`.' : e?.hint;
      opts.out.error(
        [`✖ Content not re-seeded (the pages still show the previous version): ${e ? e.title : 'unexpected error'}`, `  ${(error as Error).message}`, ...(hint ? [`  → ${hint}`] : [])].join('\n'),
      );
    }
    opts.onReseeded?.(outcome);
  };

  const run = (): void => {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = reseed().finally(() => {
      running = undefined;
      if (again && !stopped) {
        again = false;
        run();
      }
    });
  };

  const watcher = fs.watch(opts.dir, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(run, opts.debounceMs ?? 200);
  });
  watcher.on('error', (error) => opts.out.error(`✖ Stopped watching ${opts.dir} for content changes: ${error.message}`));

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      watcher.close();
      await running;
    },
  };
}
