import { astroBuildsBundleOnly } from './renderer-capture.ts';

/**
 * `astro build` of the site's code and assets, rendering no page (the build pipeline renders
 * them with the bundle it keeps), as a child process of the build: Vite's and Rolldown's
 * memory (~350 MiB at 10,000 posts, which a thread would leave behind in the process: its
 * allocator keeps it) goes when this process ends. Options come on the IPC channel; the
 * answer goes back on it.
 */
// The build that started it is gone (killed): stop rather than build into its staged folder.
process.once('disconnect', () => process.exit(1));
process.once('message', (options: { root: string; outDir: string; cacheDir: string; site: string; logLevel: 'info' | 'warn' }) => {
  void (async () => {
    try {
      astroBuildsBundleOnly(true);
      const { build } = await import('astro');
      await build(options);
      process.send!({ type: 'done' }, () => process.exit(0));
    } catch (error) {
      process.send!({ type: 'error', message: (error as Error).message, stack: (error as Error).stack }, () => process.exit(1));
    }
  })();
});
