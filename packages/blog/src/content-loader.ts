import { promises as fs } from 'node:fs';
import path from 'node:path';
import matter from 'gray-matter';
import { z } from 'zod';
import { ContentError, linkPaths, parseWithFriendlyErrors } from '@rose/core';
import type { NavItem, SiteSettings } from '@rose/site-chrome';
import { renderMarkdown } from '@rose/rich-text';
import { splitAtMembersMarker } from './markdown.ts';
import { reservedSlugs, slugPattern } from './slug-rules.ts';

/** Everything `content/` describes, validated and ready to seed. */
export interface ContentBundle {
  site: SiteSettings;
  authors: ContentAuthor[];
  tags: ContentTag[];
  navigation: { primary: NavItem[]; secondary: NavItem[] };
  posts: ContentPost[];
}

export interface ContentAuthor {
  slug: string;
  name: string;
  bio: string | null;
  website: string | null;
  location: string | null;
  profileImage: string | null;
}
export interface ContentTag {
  slug: string;
  name: string;
  description: string | null;
}
export interface ContentPost {
  type: 'post' | 'page';
  slug: string;
  title: string;
  /** Everything for a public post; a gated post's teaser (what precedes the members-only marker). */
  html: string;
  /** A gated post's members-only part; null for public posts. */
  membersHtml: string | null;
  excerpt: string | null;
  featureImage: string | null;
  featureImageAlt: string | null;
  status: 'published' | 'draft';
  visibility: 'public' | 'members' | 'paid';
  featured: boolean;
  publishedAt: Date | null;
  updatedAt: Date | null;
  tags: string[];
  authors: string[];
  /** Path relative to the content folder, for messages. */
  file: string;
}

const slug = z
  .string()
  .regex(slugPattern, 'expected a slug: lowercase letters, digits and single hyphens (e.g. "market-news")')
  .max(120, 'expected at most 120 characters');
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `expected at most ${max} characters`);
const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an http(s) URL');
const linkUrl = z
  .string()
  .refine((v) => (v.startsWith('/') && !v.startsWith('//')) || httpUrl.safeParse(v).success, `expected a site path like "${linkPaths.blog.post('about')}" or an http(s) URL`);
const imageUrl = z.string().refine((v) => linkUrl.safeParse(v).success, 'expected an image path like "/images/x.svg" or an http(s) URL');
const date = z.preprocess(
  (v) => (typeof v === 'string' ? new Date(v) : v),
  z.date({ error: 'expected a date like 2025-01-18T09:30:00Z' }).refine((d) => !Number.isNaN(d.getTime()), 'expected a date like 2025-01-18T09:30:00Z'),
);

const siteSchema = z.strictObject({
  title: text(200),
  description: text(500),
  locale: z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'expected a locale like "en-GB"').default('en-GB'),
  timezone: z.string().default('UTC'),
  /** A square PNG or JPEG: other servers show it as the part actors' avatar. */
  icon: imageUrl.optional(),
});
const authorsSchema = z.array(
  z.strictObject({
    slug,
    name: text(200),
    bio: text(2000).optional(),
    website: httpUrl.optional(),
    location: text(200).optional(),
    profile_image: imageUrl.optional(),
  }),
);
const tagsSchema = z.array(z.strictObject({ slug, name: text(200), description: text(1000).optional() }));
const navItem = z.strictObject({ label: text(100), url: linkUrl });
const navigationSchema = z.strictObject({ primary: z.array(navItem).default([]), secondary: z.array(navItem).default([]) });

const frontMatterBase = {
  title: text(300),
  slug: slug.optional(),
  excerpt: text(1000).optional(),
  feature_image: imageUrl.optional(),
  feature_image_alt: text(300).optional(),
  status: z.enum(['published', 'draft']).default('published'),
  visibility: z.enum(['public', 'members', 'paid']).default('public'),
  featured: z.boolean().default(false),
  updated: date.optional(),
  tags: z.array(slug).default([]),
};
const postFrontMatter = z.strictObject({
  ...frontMatterBase,
  date,
  authors: z.array(slug).min(1, 'a post needs at least one author'),
});
const pageFrontMatter = z.strictObject({
  ...frontMatterBase,
  date: date.optional(),
  authors: z.array(slug).default([]),
});

class Problems {
  readonly list: { file: string; message: string }[] = [];
  add(file: string, message: string) {
    this.list.push({ file, message });
  }
}

/**
 * Reads and validates a content folder. Every problem in every file is collected, then
 * thrown as one ContentError naming each file and field, so a bad file changes nothing.
 */
export async function loadContent(contentDir: string): Promise<ContentBundle> {
  try {
    const stat = await fs.stat(contentDir);
    if (!stat.isDirectory()) throw new Error('not a folder');
  } catch {
    throw new ContentError(contentDir, 'the content folder does not exist', 'Set ROSE_CONTENT_DIR (or --content) to a folder with site.json, authors.json, tags.json, navigation.json, posts/ and pages/.');
  }
  const exists = (name: string) => fs.stat(path.join(contentDir, name)).then(() => true, () => false);
  if (!(await exists('site.json')) && !(await exists('posts'))) {
    // Seeding from the wrong folder would remove every post: refuse before reading it.
    throw new ContentError(
      contentDir,
      'this is not a content folder: it has neither site.json nor posts/',
      'Set ROSE_CONTENT_DIR (or --content) to a folder with site.json, authors.json, tags.json, navigation.json, posts/ and pages/.',
    );
  }
  const problems = new Problems();
  const readJson = async <S extends z.ZodType>(name: string, schema: S, fallback: z.output<S> | undefined) => {
    const file = path.join(contentDir, name);
    let raw: string;
    try {
      raw = await fs.readFile(file, 'utf8');
    } catch {
      if (fallback !== undefined) return fallback;
      problems.add(name, 'file is missing');
      return undefined;
    }
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      problems.add(name, `is not valid JSON (${(error as Error).message})`);
      return undefined;
    }
    const parsed = parseWithFriendlyErrors(schema, data);
    if (!parsed.ok) {
      for (const p of parsed.problems) problems.add(name, p);
      return undefined;
    }
    return parsed.value;
  };

  const site = await readJson('site.json', siteSchema, undefined);
  const authorsRead = await readJson('authors.json', authorsSchema, []);
  const tagsRead = await readJson('tags.json', tagsSchema, []);
  const authors = authorsRead ?? [];
  const tags = tagsRead ?? [];
  const navigation = (await readJson('navigation.json', navigationSchema, { primary: [], secondary: [] })) ?? { primary: [], secondary: [] };

  for (const [list, name] of [
    [authors, 'authors.json'],
    [tags, 'tags.json'],
  ] as const) {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (seen.has(item.slug)) problems.add(name, `[${i}].slug: "${item.slug}" appears more than once`);
      seen.add(item.slug);
    });
  }
  // When authors.json or tags.json is itself broken, references to it are not checked:
  // one bad file should give one clear message, not one per post.
  const authorSlugs = authorsRead ? new Set(authors.map((a) => a.slug)) : undefined;
  const tagSlugs = tagsRead ? new Set(tags.map((t) => t.slug)) : undefined;

  const posts: ContentPost[] = [];
  for (const [folder, type] of [
    ['posts', 'post'],
    ['pages', 'page'],
  ] as const) {
    let files: string[];
    try {
      files = (await fs.readdir(path.join(contentDir, folder))).filter((f) => f.endsWith('.md')).sort();
    } catch (error) {
      // A blog may have no pages, but without posts/ the seed would remove every post.
      const code = (error as NodeJS.ErrnoException).code;
      if (folder === 'posts' || code !== 'ENOENT') problems.add(`${folder}/`, code === 'ENOENT' ? 'folder is missing (an empty posts/ means "no posts")' : `cannot be read (${code ?? String(error)})`);
      files = [];
    }
    for (const name of files) {
      const rel = `${folder}/${name}`;
      const raw = await fs.readFile(path.join(contentDir, rel), 'utf8');
      let parsedMatter: matter.GrayMatterFile<string>;
      try {
        // A fresh options object per call: gray-matter caches results by content otherwise.
        parsedMatter = matter(raw, {});
      } catch (error) {
        problems.add(rel, `front matter is not valid YAML (${(error as Error).message.split('\n')[0]})`);
        continue;
      }
      const schema = type === 'post' ? postFrontMatter : pageFrontMatter;
      const fm = parseWithFriendlyErrors(schema, parsedMatter.data);
      if (!fm.ok) {
        for (const p of fm.problems) problems.add(rel, p);
        continue;
      }
      const v = fm.value;
      const postSlug = v.slug ?? name.replace(/\.md$/, '');
      if (!slug.safeParse(postSlug).success) {
        problems.add(rel, `file name "${name}" is not a valid slug; rename it or set "slug" in the front matter`);
        continue;
      }
      if (reservedSlugs.has(postSlug)) problems.add(rel, `slug: "${postSlug}" is reserved for the blog's own pages; choose another`);
      v.tags.forEach((t, i) => {
        if (tagSlugs && !tagSlugs.has(t)) problems.add(rel, `tags[${i}]: unknown tag "${t}" (add it to tags.json)`);
      });
      v.authors.forEach((a, i) => {
        if (authorSlugs && !authorSlugs.has(a)) problems.add(rel, `authors[${i}]: unknown author "${a}" (add it to authors.json)`);
      });
      if (v.updated && v.date && v.updated < v.date) problems.add(rel, 'updated: must not be earlier than date');
      if (parsedMatter.content.trim() === '') problems.add(rel, 'the body is empty');
      // A gated post keeps only its teaser (before the members-only marker) in `html`.
      const gated = v.visibility !== 'public';
      const parts = gated ? splitAtMembersMarker(parsedMatter.content) : undefined;
      posts.push({
        type,
        slug: postSlug,
        title: v.title,
        html: renderMarkdown(parts ? parts.teaser : parsedMatter.content),
        membersHtml: parts ? renderMarkdown(parts.rest) : null,
        excerpt: v.excerpt ?? null,
        featureImage: v.feature_image ?? null,
        featureImageAlt: v.feature_image_alt ?? null,
        status: v.status,
        visibility: v.visibility,
        featured: v.featured,
        publishedAt: v.date ?? null,
        updatedAt: v.updated ?? null,
        tags: [...new Set(v.tags)],
        authors: [...new Set(v.authors)],
        file: rel,
      });
    }
  }
  const bySlug = new Map<string, string>();
  for (const p of posts) {
    const other = bySlug.get(p.slug);
    if (other) problems.add(p.file, `slug: "${p.slug}" is already used by ${other} (posts and pages share one set of slugs)`);
    bySlug.set(p.slug, p.file);
  }

  if (problems.list.length > 0 || !site) {
    const first = problems.list[0]?.file ?? 'site.json';
    const lines = problems.list.map((p) => `  ${p.file}: ${p.message}`).join('\n');
    const err = new ContentError(first, `${problems.list.length} problem(s) in ${contentDir}:\n${lines}`, 'Fix the files above and run `rose db seed` again; nothing was changed.');
    // The message already names every file.
    Object.defineProperty(err, 'message', { value: `${problems.list.length} problem(s) in ${contentDir}:\n${lines}` });
    throw err;
  }

  return {
    site,
    authors: authors.map((a) => ({
      slug: a.slug,
      name: a.name,
      bio: a.bio ?? null,
      website: a.website ?? null,
      location: a.location ?? null,
      profileImage: a.profile_image ?? null,
    })),
    tags: tags.map((t) => ({ slug: t.slug, name: t.name, description: t.description ?? null })),
    navigation,
    posts,
  };
}
