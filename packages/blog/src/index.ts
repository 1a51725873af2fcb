export { loadContent, type ContentBundle } from './content-loader.ts';
export { readContentImages, prepareContentImages, seedContentWithImages } from './content-images.ts';
export { seedContent, type SeedSummary, type SeedCounts } from './seed.service.ts';
export { blogChangesSince, loadBlogSnapshot, refreshBlogSnapshot, type BlogChanges, type BlogSnapshot, type BlogVersions, type PostView } from './blog.view.ts';
export { renderRss, renderAtom, renderJsonFeed, renderSitemap, blogSitemapEntries, buildSearchIndex } from './feed.view.ts';
export { applyImport, readSetting, listGatedWithoutBody, type ImportBatch, type ImportSummary, type ImportedPost, type ImportedTag, type ImportedAuthor } from './import.service.ts';
export { readMembersContent, setMemberTier, listPaidMembers, type Reader, type MembersContent } from './members.service.ts';
export { blogPageKeys } from './page-keys.ts';
export { listFederatedPosts, type FederatedPost } from './federation.view.ts';
