import node from '@astrojs/node';
import { defineConfig } from 'astro/config';

// Settings that depend on the environment (outDir, site, cacheDir) are passed in by the
// `rose` CLI from the validated config (packages/config); build and serve through it.
export default defineConfig({
  srcDir: './sites',
  publicDir: './sites/public',
  output: 'static',
  adapter: node({ mode: 'standalone' }),
  trailingSlash: 'ignore',
  build: { format: 'directory', concurrency: 4 },
  devToolbar: { enabled: false },
  prefetch: false,
  // CSRF is checked by sites/middleware.ts for every state-changing request (Astro's own
  // check only covers form content types and cannot exempt signed server-to-server calls).
  security: { checkOrigin: false },
  vite: {
    // Workspace packages are TypeScript source; let Vite compile them, but leave
    // database and cache drivers to Node.
    ssr: { external: ['@electric-sql/pglite', 'pg', 'ioredis', 'pino', 'sanitize-html', 'marked', 'gray-matter'] },
  },
});
