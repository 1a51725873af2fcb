# The Rose Ash app on Node 24 (see docker-compose.yml).
FROM node:24-bookworm-slim

WORKDIR /app
ENV ASTRO_TELEMETRY_DISABLED=1 \
    NODE_ENV=production

# Dependencies first, for layer caching: root and workspace manifests only.
COPY package.json package-lock.json ./
COPY packages/app/package.json packages/app/
COPY packages/auth/package.json packages/auth/
COPY packages/blog/package.json packages/blog/
COPY packages/cache/package.json packages/cache/
COPY packages/config/package.json packages/config/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/ghost/package.json packages/ghost/
COPY packages/http/package.json packages/http/
COPY packages/jobs/package.json packages/jobs/
COPY packages/mail/package.json packages/mail/
COPY packages/market/package.json packages/market/
COPY packages/media/package.json packages/media/
COPY packages/oauth/package.json packages/oauth/
COPY packages/releases/package.json packages/releases/
COPY packages/rich-text/package.json packages/rich-text/
COPY packages/site-build/package.json packages/site-build/
COPY packages/site-chrome/package.json packages/site-chrome/
COPY packages/static-files/package.json packages/static-files/
COPY packages/testing/package.json packages/testing/
RUN npm install --include=dev --no-audit --no-fund

COPY . .

RUN useradd --system --home /app rose && mkdir -p /app/.rose /app/dist && chown -R rose /app/.rose /app/dist
USER rose

EXPOSE 4321
CMD ["npx", "rose", "serve", "--host", "0.0.0.0", "--port", "4321"]
