/** The parts of the site, each under its own path prefix (DESIGN.md, hosting shape). */
export const parts = ['blog', 'market', 'events', 'cart', 'account', 'auth', 'social'] as const;
export type Part = (typeof parts)[number];

/**
 * The one place that turns a part and a path into a link. Single-origin today: every part
 * lives under `/<part>`. When parts get their own hosts, only this function changes.
 *
 * @example
 * partPath('blog', 'tag/market-news/') // '/blog/tag/market-news/'
 */
export function partPath(part: Part, path = ''): string {
  const clean = path.replace(/^\/+/, '');
  return `/${part}/${clean}`;
}

/** Pages of the site as a whole, outside every part. */
export const siteLinks = {
  /** The co-op's front page, which links every part. */
  home: () => '/',
  favicon: () => '/favicon.ico',
  sitemap: () => '/sitemap.xml',
} as const;

/** Members' pages: the account dashboard (part `account`) and signing in or up (part `auth`). */
export const accountLinks = {
  home: () => partPath('account'),
  signIn: () => partPath('auth', 'login'),
  signUp: () => partPath('auth', 'signup'),
} as const;

/** Links inside the blog; slugs are already validated (lowercase, digits, hyphens). */
export const blogLinks = {
  home: () => partPath('blog'),
  listPage: (page: number) => (page <= 1 ? partPath('blog') : partPath('blog', `page/${page}/`)),
  /** The numbered address of the first list page, which redirects to `home()`. */
  listPageOne: () => partPath('blog', 'page/1/'),
  post: (slug: string) => partPath('blog', `${slug}/`),
  tag: (slug: string, page = 1) => partPath('blog', page <= 1 ? `tag/${slug}/` : `tag/${slug}/page/${page}/`),
  author: (slug: string, page = 1) => partPath('blog', page <= 1 ? `author/${slug}/` : `author/${slug}/page/${page}/`),
  rss: () => partPath('blog', 'rss.xml'),
  atom: () => partPath('blog', 'atom.xml'),
  jsonFeed: () => partPath('blog', 'feed.json'),
  search: () => partPath('blog', 'search/'),
  searchIndex: () => partPath('blog', 'search-index.json'),
  /** A published image file (content-hashed name, `@rose/media`). */
  image: (name: string) => partPath('blog', `images/${name}`),
} as const;

/** Links inside the market; slugs are already validated (lowercase, digits, hyphens). */
export const marketLinks = {
  home: () => partPath('market'),
  category: (slug: string, page = 1) => partPath('market', page <= 1 ? `category/${slug}/` : `category/${slug}/page/${page}/`),
  producers: () => partPath('market', 'producers/'),
  producer: (slug: string) => partPath('market', `producers/${slug}/`),
  product: (slug: string) => partPath('market', `products/${slug}/`),
  search: () => partPath('market', 'search/'),
  searchIndex: () => partPath('market', 'search-index.json'),
  rss: () => partPath('market', 'rss.xml'),
  jsonFeed: () => partPath('market', 'feed.json'),
  /** A published image file (content-hashed name, `@rose/media`). */
  image: (name: string) => partPath('market', `images/${name}`),
  /** Staff pages (on demand). */
  manage: () => partPath('market', 'manage/'),
  manageProduct: (slug: string) => partPath('market', `manage/products/${slug}/`),
  manageCycles: () => partPath('market', 'manage/cycles/'),
  manageCycle: (slug: string) => partPath('market', `manage/cycles/${slug}/`),
} as const;

/** Turns a site-relative path into an absolute URL on the public origin. */
export function absoluteUrl(siteUrl: string, path: string): string {
  return new URL(path, siteUrl.endsWith('/') ? siteUrl : `${siteUrl}/`).toString();
}
