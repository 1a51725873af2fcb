import { z } from 'zod';

// Every schema is a plain `z.object`: fields we do not list are dropped, not rejected, so a
// newer Ghost adding fields does not break sync; fields we do list must have the right type.

/**
 * A Ghost timestamp as a Date. The Content API writes dates in the site's timezone with an
 * offset (`2026-06-01T10:00:00.000+01:00`), the Admin API in UTC (`...Z`); both are instants.
 */
const ghostDate = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const nullableText = z.string().nullable();
/** Fields Ghost may omit depending on `fields=`/`include=` or version; null when empty. */
const optionalText = z.string().nullable().optional();

export const ghostTagSchema = z.object({
  id: z.string().min(1),
  slug: z.string().min(1),
  name: z.string(),
  description: nullableText,
  /** `internal` tags are the `#hash` tags: used for theming and routing, never shown. */
  visibility: z.enum(['public', 'internal']),
  feature_image: optionalText,
  url: z.string().optional(),
});
export type GhostTag = z.output<typeof ghostTagSchema>;

export const ghostAuthorSchema = z.object({
  id: z.string().min(1),
  slug: z.string().min(1),
  name: z.string(),
  bio: nullableText,
  profile_image: nullableText,
  website: nullableText,
  location: nullableText,
  cover_image: optionalText,
  url: z.string().optional(),
});
export type GhostAuthor = z.output<typeof ghostAuthorSchema>;

/** Posts and pages share one shape. */
export const ghostPostSchema = z.object({
  id: z.string().min(1),
  uuid: z.string().min(1),
  slug: z.string().min(1),
  title: z.string(),
  /** Absent unless `formats=html`; `''` for members-only content the key may not see (`access: false`). */
  html: z.string().nullable().optional(),
  excerpt: z.string().nullable().optional(),
  custom_excerpt: nullableText,
  feature_image: nullableText,
  feature_image_alt: nullableText,
  feature_image_caption: optionalText,
  featured: z.boolean(),
  /** The Content API drops `status` (it only ever serves published content); webhooks and the Admin API send it. */
  status: z.enum(['published', 'draft', 'scheduled', 'sent']).optional(),
  visibility: z.enum(['public', 'members', 'paid', 'tiers']),
  /** False when the content is gated and `html` was emptied or cut at the paywall. */
  access: z.boolean().optional(),
  published_at: ghostDate.nullable(),
  updated_at: ghostDate,
  created_at: ghostDate,
  tags: z.array(ghostTagSchema),
  authors: z.array(ghostAuthorSchema),
  primary_tag: ghostTagSchema.nullable(),
  primary_author: ghostAuthorSchema.nullable().optional(),
  url: z.string().optional(),
  canonical_url: optionalText,
  meta_title: optionalText,
  meta_description: optionalText,
  reading_time: z.number().optional(),
});
export type GhostPost = z.output<typeof ghostPostSchema>;
export type GhostPage = GhostPost;

/**
 * What `fields=id,updated_at&include=tags,authors` returns: enough to reconcile deletions and
 * the tags and authors of every item (Ghost does not move `updated_at` when only they change).
 */
export const ghostItemStampSchema = z.object({
  id: z.string().min(1),
  updated_at: ghostDate,
  tags: z.array(ghostTagSchema),
  authors: z.array(ghostAuthorSchema),
});
export type GhostItemStamp = z.output<typeof ghostItemStampSchema>;

/** A post or page as the Admin API shows staff: the whole body, members-only part included. */
export const ghostAdminBodySchema = z.object({
  id: z.string().min(1),
  status: z.string(),
  visibility: z.enum(['public', 'members', 'paid', 'tiers']),
  html: z.string().nullable().optional(),
});
export type GhostAdminBody = z.output<typeof ghostAdminBodySchema>;

const navigationItemSchema = z.object({ label: z.string(), url: z.string() });
export type GhostNavigationItem = z.output<typeof navigationItemSchema>;

export const ghostSettingsSchema = z.object({
  title: z.string(),
  description: nullableText,
  /** Ghost 6 also sends the same value as `locale`. */
  lang: z.string(),
  timezone: z.string().min(1),
  navigation: z.array(navigationItemSchema),
  secondary_navigation: z.array(navigationItemSchema),
  logo: optionalText,
  icon: optionalText,
  cover_image: optionalText,
  accent_color: optionalText,
  url: z.string().optional(),
});
export type GhostSettings = z.output<typeof ghostSettingsSchema>;

/** `GET /ghost/api/admin/site/`. */
export const ghostSiteSchema = z.object({
  title: z.string(),
  description: nullableText,
  logo: optionalText,
  icon: optionalText,
  accent_color: optionalText,
  url: z.string(),
  /** `major.minor`, e.g. `6.65`. */
  version: z.string(),
});
export type GhostSite = z.output<typeof ghostSiteSchema>;

/** The events Ghost 6 can send (its `services/webhooks/listen.js`). */
export const ghostWebhookEvents = [
  'site.changed',
  'post.added',
  'post.deleted',
  'post.edited',
  'post.published',
  'post.published.edited',
  'post.unpublished',
  'post.scheduled',
  'post.unscheduled',
  'post.rescheduled',
  'page.added',
  'page.deleted',
  'page.edited',
  'page.published',
  'page.published.edited',
  'page.unpublished',
  'page.scheduled',
  'page.unscheduled',
  'page.rescheduled',
  'tag.added',
  'tag.edited',
  'tag.deleted',
  'member.added',
  'member.deleted',
  'member.edited',
  'post.tag.attached',
  'post.tag.detached',
  'page.tag.attached',
  'page.tag.detached',
] as const;
export type GhostWebhookEvent = (typeof ghostWebhookEvents)[number];

export const ghostWebhookSchema = z.object({
  id: z.string().min(1),
  event: z.string(),
  target_url: z.string(),
  name: nullableText,
  integration_id: z.string().nullable().optional(),
  status: z.string().optional(),
  created_at: ghostDate,
  updated_at: ghostDate.optional(),
});
/** A created webhook. Ghost echoes its `secret`; we drop it so it cannot end up in logs. */
export type GhostWebhook = z.output<typeof ghostWebhookSchema>;

export const ghostPaginationSchema = z.object({
  page: z.number().int().positive(),
  limit: z.union([z.number(), z.string()]),
  pages: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  next: z.number().int().positive().nullable(),
  prev: z.number().int().positive().nullable(),
});
export type GhostPagination = z.output<typeof ghostPaginationSchema>;
