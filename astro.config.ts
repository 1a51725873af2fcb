import node from '@astrojs/node';
import type { AstroIntegration } from 'astro';
import { defineConfig } from 'astro/config';
import { keepPrerenderBundle } from '@rose/site-build/astro';

/**
 * `rose dev`: the handlers `rose serve` puts in front of the site (the OpenID provider under
 * /auth, …: `services.frontHandlers`) answer in front of Astro's dev server too.
 */
const frontHandlersInDev: AstroIntegration = {
  name: 'rose-front-handlers',
  hooks: {
    'astro:server:setup': ({ server, logger }) => {
      // Provided by `rose dev` on globalThis (packages/app, provideServices); the config
      // cannot import it because Vite's config loader is gone once the config is read.
      type FrontServices = { frontHandlers: readonly ((req: unknown, res: unknown) => Promise<boolean>)[] };
      const provided = (globalThis as Record<symbol, Promise<FrontServices> | undefined>)[Symbol.for('rose.services')];
      // `rose dev` re-seeds content/ edits, then calls this: as Astro does when its content
      // layer changes, the server environments drop their cached getStaticPaths results and
      // open pages reload.
      (globalThis as Record<symbol, unknown>)[Symbol.for('rose.dev-reload')] = () => {
        for (const [name, environment] of Object.entries(server.environments)) if (name !== 'client') environment.hot.send('astro:content-changed', {});
        server.environments.client.hot.send({ type: 'full-reload', path: '*' });
      };
      if (!provided) {
        logger.warn('started without `rose dev`: the OpenID provider and other front handlers are not mounted');
        return;
      }
      server.middlewares.use((req, res, next) => {
        provided
          .then(async (services) => {
            for (const handler of services.frontHandlers) if (await handler(req, res)) return true;
            return false;
          })
          .then((handled) => {
            if (!handled) next();
          }, next);
      });
    },
  },
};

// Settings that depend on the environment (outDir, site, cacheDir) are passed in by the
// `rose` CLI from the validated config (packages/config); build and serve through it.
export default defineConfig({
  srcDir: './sites',
  publicDir: './sites/public',
  output: 'static',
  adapter: node({ mode: 'standalone' }),
  integrations: [frontHandlersInDev, keepPrerenderBundle()],
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
