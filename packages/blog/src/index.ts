export { loadContent, reservedSlugs, type ContentBundle, type ContentPost, type SiteSettings } from './content-loader.ts';
export { seedContent, seedPruneLimit, SeedPruneNeededError, type SeedSummary, type SeedCounts, type SeedRemovals } from './seed.service.ts';
export { loadBlogSnapshot, loadSiteChrome, type BlogSnapshot, type PostView, type PostCard, type TagView, type AuthorView, type TagRef, type AuthorRef } from './blog.view.ts';
export { renderRss, renderAtom, renderJsonFeed, renderSitemap, blogSitemapEntries, buildSearchIndex, escapeXml, type SitemapEntry, type SearchEntry } from './feed.view.ts';
export { renderMarkdown, sanitizePostHtml, htmlToText, readingMinutes, countWords } from './markdown.ts';
export { applyImport, readSetting, type ImportBatch, type ImportSummary, type ImportedPost, type ImportedTag, type ImportedAuthor } from './import.service.ts';
export { blogPageKeys, diffPageKeys } from './page-keys.ts';
