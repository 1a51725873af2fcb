// The replies other servers sent to a blog post, as the HTML of the post page's server island
// (sites/components/social-replies.astro). Shared by every reader (hidden replies are left
// out), so the island keeps it in the fragment cache; moderation purges it.
import type { Services } from '@rose/app';
import { attachmentsOf, formatMoment, httpUrl, type TimelineItem } from './social-hub.ts';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function replyHtml(reply: TimelineItem, site: { locale: string; timezone: string }): string {
  const author = reply.author;
  const profile = httpUrl(author.uri);
  const who = `${profile ? `<a href="${escape(profile)}" rel="nofollow noopener noreferrer ugc">` : ''}<strong>${escape(author.name)}</strong>${profile ? '</a>' : ''} <span class="handle">${escape(author.handle)}</span>`;
  const when = `<time datetime="${reply.publishedAt.toISOString()}">${escape(formatMoment(reply.publishedAt, site.locale, site.timezone))}</time>`;
  const link = httpUrl(reply.url ?? reply.uri);
  const attachments = attachmentsOf(reply)
    .map((a) => `<li><a href="${escape(a.url)}" rel="nofollow noopener noreferrer ugc">${escape(a.label)}</a></li>`)
    .join('');
  // Sanitised when it arrived (packages/federation), so it is inserted as it is.
  const body = `<div class="reply-content">${reply.contentHtml}</div>${attachments ? `<ul class="reply-attachments">${attachments}</ul>` : ''}`;
  const warning = reply.summary?.trim() || (reply.sensitive ? 'Sensitive content' : '');
  const content = warning ? `<details><summary>${escape(warning)}</summary>${body}</details>` : body;
  return `<li class="reply" data-testid="social-reply" data-uri="${escape(reply.uri)}"><p class="meta">${who} · ${link ? `<a href="${escape(link)}" rel="nofollow noopener noreferrer ugc">${when}</a>` : when}</p>${content}</li>`;
}

/**
 * The island's HTML: the replies, and how to reply from another server; '' when the post does
 * not federate. The post's Article carries the post's address as its `url`, which finds it.
 */
export async function renderBlogReplies(services: Services, slug: string): Promise<string> {
  const social = services.federation.social;
  const uri = await social.objectUriOfUrl(services.links.blog.url.post(slug));
  if (!uri) return '';
  const [replies, chrome] = await Promise.all([social.repliesTo(uri), services.site.chrome()]);
  const how = `<p class="meta">Reply from Mastodon or another fediverse server: search there for this post's address, <code>${escape(uri)}</code>, or follow <strong>${escape(social.address('blog'))}</strong>.</p>`;
  if (replies.length === 0) return `<section class="social-replies" data-testid="social-replies" data-count="0">${how}</section>`;
  const heading = replies.length === 1 ? '1 reply from the fediverse' : `${replies.length} replies from the fediverse`;
  const items = replies.map((r) => replyHtml(r, chrome.site)).join('');
  return `<section class="social-replies" data-testid="social-replies" data-count="${replies.length}" aria-label="${escape(heading)}"><h2>${escape(heading)}</h2><ol class="replies">${items}</ol>${how}</section>`;
}
