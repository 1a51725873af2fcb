/**
 * A one-line progress bar on a terminal (stderr), a few plain lines otherwise (CI logs).
 */
export interface Progress {
  tick(label?: string): void;
  setTotal(total: number): void;
  done(): void;
}

export function createProgress(opts: { title: string; total: number; isTTY: boolean; write?: (s: string) => void }): Progress {
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  let total = Math.max(opts.total, 1);
  let count = 0;
  let lastDraw = 0;
  let lastPercentLogged = -1;
  const started = Date.now();
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 80) return;
    lastDraw = now;
    const ratio = Math.min(count / total, 1);
    if (opts.isTTY) {
      const width = 28;
      const filled = Math.round(ratio * width);
      const secs = ((now - started) / 1000).toFixed(1);
      write(`\r${opts.title} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${count}/${total} ${Math.round(ratio * 100)}% ${secs}s\x1b[K`);
    } else {
      const pct = Math.floor(ratio * 4) * 25; // 0, 25, 50, 75, 100
      if (pct > lastPercentLogged) {
        lastPercentLogged = pct;
        write(`${opts.title}: ${count}/${total} (${pct}%)\n`);
      }
    }
  };
  return {
    tick() {
      count++;
      if (count > total) total = count;
      draw(false);
    },
    setTotal(n) {
      total = Math.max(n, 1);
    },
    done() {
      if (opts.isTTY) {
        draw(true);
        write('\n');
      } else {
        write(`${opts.title}: ${count} done\n`);
      }
    },
  };
}
