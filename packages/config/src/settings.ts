// Plain data, no zod: `rose --help` prints this table without loading the validation
// (imported as `@rose/config/settings`; a test checks what `--help` loads).

/** One row per setting: the single source for validation, `--help` and the README table. */
export const settings = [
  { env: 'DATABASE_URL', default: '(unset: embedded PGlite in ROSE_DATA_DIR/pglite)', description: 'Postgres connection URL (postgres://user:pass@host:5432/db).' },
  { env: 'REDIS_URL', default: '(unset: in-process memory cache)', description: 'Redis URL (redis://host:6379/0) for the fragment/session cache.' },
  { env: 'GHOST_URL', default: '(unset: the blog comes from content/)', description: 'Ghost site to sync the blog from, e.g. https://ghost.example.org.' },
  { env: 'GHOST_CONTENT_KEY', default: '(required with GHOST_URL)', description: 'Content API key of a Ghost custom integration (26 hex characters).' },
  { env: 'GHOST_ADMIN_KEY', default: '(unset)', description: 'Admin API key "id:secret" of the same integration; needed by `rose ghost webhooks install`, and for members to read members-only posts (Ghost\'s Content API gives only their public teaser).' },
  { env: 'GHOST_WEBHOOK_SECRET', default: '(unset: webhooks refused)', description: 'Shared secret Ghost signs webhooks with (at least 16 characters).' },
  { env: 'ROSE_PART_ORIGINS', default: '(unset: every part on ROSE_SITE_URL)', description: 'Comma-separated origins of parts served on their own hosts; each becomes a first-party single sign-on client. Write `market=https://market.coop.example` to say which part lives there: its links then use that host.' },
  { env: 'SMTP_URL', default: '(unset: mail is written to ROSE_DATA_DIR/mail)', description: 'SMTP server for account mail, e.g. smtps://user:pass@mail.example.org:465.' },
  { env: 'MAIL_FROM', default: 'Rose Ash <no-reply@localhost>', description: 'Sender of account mail.' },
  { env: 'ROSE_CACHE_NAMESPACE', default: 'rose:', description: 'Prefix of every cache key, so several sites or test runs can share one Redis.' },
  { env: 'ROSE_DATA_DIR', default: '.rose', description: 'Folder for local state: the embedded database, mail, build scratch.' },
  { env: 'ROSE_CONTENT_DIR', default: 'content', description: 'Folder with the demo/seed content loaded by `rose db seed`.' },
  { env: 'ROSE_DIST_DIR', default: 'dist', description: 'Where `rose build` writes releases (releases/<id>/, current -> live one) and `rose serve` serves from. Inside the project.' },
  { env: 'ROSE_KEEP_RELEASES', default: '5', description: 'How many releases `rose build` keeps for `rose release rollback` (2-100).' },
  { env: 'ROSE_SITE_URL', default: '(unset: the address `rose serve` listens on, from HOST and PORT: http://localhost:4321)', description: 'Public origin: the OpenID issuer, sign-in and account pages, feeds, sitemap and canonical links. Sign-in and account pages reached on another origin redirect here.' },
  { env: 'ROSE_TRUSTED_PROXIES', default: '(unset: forwarded headers ignored)', description: 'Comma-separated IPs or CIDR ranges of reverse proxies whose X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-For and X-Request-Id are believed, e.g. 127.0.0.1,10.0.0.0/8.' },
  { env: 'ROSE_METRICS_TOKEN', default: '(unset: /api/metrics answers loopback and private addresses connecting directly only)', description: "Bearer token Prometheus sends to read /api/metrics and /api/ready's details (Authorization: Bearer <token>; at least 16 characters). Without the right token, or when none is set from a public address or through a proxy, /api/metrics answers 404." },
  { env: 'ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES', default: 'false', description: 'Tests only: lets ActivityPub fetch from and deliver to loopback and private addresses (refused otherwise, so a remote server cannot make this one reach the inside of your network).' },
  { env: 'ROSE_FEDERATION_INBOX_PER_MINUTE', default: '600', description: 'ActivityPub deliveries one sender (its address; the forwarded one behind ROSE_TRUSTED_PROXIES) may make per minute, counted in the cache; past it the inbox answers 429 with Retry-After. 0: no limit.' },
  { env: 'HOST', default: 'localhost', description: 'Interface `rose serve` / `rose dev` listen on.' },
  { env: 'PORT', default: '4321', description: 'Port `rose serve` / `rose dev` listen on.' },
  { env: 'ROSE_LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent.' },
  { env: 'ROSE_FRAGMENT_TTL', default: '60', description: 'Seconds a rendered server-island fragment stays cached.' },
  { env: 'ROSE_POSTS_PER_PAGE', default: '10', description: 'Posts per page on the blog index, tag and author pages.' },
  { env: 'ASTRO_KEY', default: '(unset: made once and kept in ROSE_DATA_DIR/astro-key)', description: 'Key for server-island URLs (and the provider\'s cookies), as `npx astro create-key` prints it; set one shared value when running several servers.' },
] as const;
