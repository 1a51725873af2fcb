export { loadContent, type ContentBundle, type ContentPost, type SiteSettings } from './content-loader.ts';
export { readContentImages, prepareContentImages, isContentImageRef, contentImagePrefix, type ContentImage } from './content-images.ts';
export { reservedSlugs, slugPattern, slugProblem } from './slug-rules.ts';
export { seedContent, seedPruneLimit, SeedPruneNeededError, type SeedSummary, type SeedCounts, type SeedRemovals } from './seed.service.ts';
export { loadBlogSnapshot, refreshBlogSnapshot, loadSiteChrome, type BlogSnapshot, type PostView, type PostCard, type TagView, type AuthorView, type TagRef, type AuthorRef } from './blog.view.ts';
export { renderRss, renderAtom, renderJsonFeed, renderSitemap, blogSitemapEntries, buildSearchIndex, escapeXml, type SitemapEntry, type SearchEntry } from './feed.view.ts';
export { renderMarkdown, sanitizePostHtml, htmlToText, readingMinutes, countWords, membersMarker, splitAtMembersMarker } from './markdown.ts';
export {
  applyImport,
  readSetting,
  listGatedWithoutBody,
  type ImportBatch,
  type ImportSummary,
  type ImportedPost,
  type ImportedTag,
  type ImportedAuthor,
  type ImportedRelations,
  type SkippedItem,
} from './import.service.ts';
export { readMembersContent, setMemberTier, memberTier, memberTiers, listPaidMembers, type Reader, type MembersContent } from './members.service.ts';
export { blogPageKeys, diffPageKeys } from './page-keys.ts';
