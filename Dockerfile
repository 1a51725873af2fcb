# The Rose Ash app on Node 24 (see docker-compose.yml). One image runs every role:
# `rose serve` (the default), `rose worker`, `rose db migrate`, `rose build`.
# Node strips the TypeScript types itself (docs/adr/0001), so nothing is compiled here;
# `rose build` runs Astro and Vite at run time, which is why they are dependencies, not
# devDependencies. The base image is Node 24, so the `node` devDependency (which fetches a
# Node 24 for machines without one) stays out.

# --- deps: production dependencies only -------------------------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
ENV npm_config_update_notifier=false

# Manifests first, for layer caching: the root and every workspace the app runs.
# packages/testing (test helpers, Playwright, an SMTP server) is left out on purpose: npm
# installs a workspace's dependencies even with --omit=dev.
COPY package.json package-lock.json ./
COPY packages/app/package.json packages/app/
COPY packages/auth/package.json packages/auth/
COPY packages/blog/package.json packages/blog/
COPY packages/cache/package.json packages/cache/
COPY packages/config/package.json packages/config/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/deploy/package.json packages/deploy/
COPY packages/federation/package.json packages/federation/
COPY packages/ghost/package.json packages/ghost/
COPY packages/http/package.json packages/http/
COPY packages/jobs/package.json packages/jobs/
COPY packages/mail/package.json packages/mail/
COPY packages/market/package.json packages/market/
COPY packages/media/package.json packages/media/
COPY packages/oauth/package.json packages/oauth/
COPY packages/observability/package.json packages/observability/
COPY packages/releases/package.json packages/releases/
COPY packages/rich-text/package.json packages/rich-text/
COPY packages/site-build/package.json packages/site-build/
COPY packages/site-chrome/package.json packages/site-chrome/
COPY packages/static-files/package.json packages/static-files/
# `npm install`, not `npm ci`: see ../shared/TOOLCHAIN.md (the lockfile lacks some optional
# platform packages of Astro's compiler, which `npm ci` refuses).
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    ASTRO_TELEMETRY_DISABLED=1 \
    HOST=0.0.0.0 \
    PORT=4321

# A numeric user, so orchestrators can check it is not root without reading /etc/passwd.
RUN groupadd --system --gid 10001 rose \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin rose

COPY --from=deps /app/node_modules ./node_modules
# The code (.dockerignore keeps out .git, node_modules, releases, local state, tests, secrets).
COPY . .

# The code stays root's and read-only; the user may write only where Rose Ash writes:
# local state (.rose), releases (dist), and what an Astro build writes beside the project
# (.astro for content types, node_modules/.vite for Vite's dependency cache).
RUN mkdir -p .rose dist .astro node_modules/.vite \
 && chown 10001:10001 .rose dist .astro node_modules/.vite
USER 10001:10001

EXPOSE 4321
# Liveness: /api/health answers 200 while the process serves (the worker and one-shot
# services override or disable this in docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4321) + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `node cli/bin/rose.js`, not `npx rose`: no npm start-up or registry look-up per command.
CMD ["node", "cli/bin/rose.js", "serve"]
