import { promises as fs } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { linkPaths } from '@rose/core';
import { copyBuiltSite, freePort, launchBrowser, makeProjectTempDir, runRose, startFedifyPeer, startRose, type FedifyPeer, type RunningRose } from '@rose/testing';

const password = 'Hedgerow-Quince-Lantern-58';

// The members' social hub in Chromium against `rose serve` and real, independent Fedify
// servers: a member turns on a profile, follows a peer, sees its posts (content warnings
// folded), likes, unlikes and replies from the browser, sees the peer's like in Notifications,
// and likes a post on the blog's profile; anyone signed out reads that profile (where the
// blog's actor id sends a browser); another peer's reply to a blog post shows under the static
// post, staff hide it, block its server and unblock it; members cannot moderate, and the
// routes refuse what they do not accept.
describe('social hub in a browser (Chromium) with a Fedify peer', () => {
  let tmp: string;
  let server: RunningRose;
  let browser: Browser;
  let peer: FedifyPeer;
  let origin: string;
  const pageErrors: string[] = [];

  const url = (path: string) => new URL(path, origin).toString();
  /** Reloads `path` until `check` passes (deliveries go through the outbox worker: seconds, not a fixed time). */
  const pollPage = async (page: Page, path: string, what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await page.goto(url(path));
      if (await check()) return;
      if (Date.now() > until) throw new Error(`timed out waiting until ${what} (on ${path}); the page says: ${(await page.locator('main').innerText()).slice(0, 1500)}`);
      await page.waitForTimeout(500);
    }
  };
  /** Serious and critical axe-core violations (WCAG 2.2 A/AA and best practices), one line each. */
  const violations = async (page: Page) =>
    (await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']).analyze()).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${page.url()}: ${v.id} (${v.impact}): ${v.help} — ${n.target.join(' ')}`));
  /** A page in a context of its own (its own cookies; axe-core needs pages of a context). */
  const newPage = async () => {
    const context = await browser.newContext();
    onTestFinished(() => context.close());
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return page;
  };
  const signIn = async (page: Page, path: string) => {
    await page.goto(url(path));
    // Signed out: sent to sign in, and back afterwards.
    await page.waitForURL(/\/auth\/login\?return_to=/);
    await page.fill('input[name=email]', 'mo@example.org');
    await page.fill('input[name=password]', password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === path);
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('social');
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const env = {
      ...(await copyBuiltSite(tmp)),
      ROSE_SITE_URL: origin,
      ROSE_FEDERATION_ALLOW_PRIVATE_ADDRESSES: 'true',
      // Islands are cached for a minute (the default, said here): hiding a reply must purge it.
      ROSE_FRAGMENT_TTL: '60',
    };
    // Staff, so the same member can moderate.
    for (const [email, name, role] of [['mo@example.org', 'Mo Weaver', 'staff'], ['pat@example.org', 'Pat Member', 'member']] as const) {
      const created = await runRose(['users', 'create', '--email', email, '--name', name, '--role', role, '--password-stdin'], env, { stdin: `${password}\n` });
      expect(created.code, created.stderr).toBe(0);
    }
    browser = await launchBrowser();
    // The peer on another loopback address: a server of its own, not ours.
    peer = await startFedifyPeer({ hostname: '127.0.0.2' });
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
  }, 600_000); // the first file to need the built site builds it: minutes on a busy machine
  afterAll(async () => {
    await browser?.close();
    await peer?.close();
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  // A failure shows what the server logged (a page's 500 says nothing in the browser).
  beforeEach(() => onTestFailed(() => console.error(`rose serve output (last 8000 characters):\n${server?.output().slice(-8000)}`)));

  it('turns on a profile, follows the peer, sees, likes and unlikes its posts, replies, is notified of its like, and likes a post on the blog\'s profile', async () => {
    const page = await newPage();
    await signIn(page, linkPaths.social.home());
    await page.locator('[data-testid="no-profile"]').waitFor();

    // The handle: a reserved one is refused with the reason, the form keeping what was typed.
    await page.getByRole('link', { name: 'Choose your handle in Social settings' }).click();
    await page.waitForURL((u) => u.pathname === linkPaths.social.settings());
    const host = new URL(origin).host;
    expect(await page.locator('[data-testid="address-preview"]').innerText()).toContain(`@yourname@${host}`);
    await page.getByLabel(/Handle/).fill('admin');
    await page.getByRole('button', { name: 'Turn on my profile' }).click();
    expect(await page.locator('[data-testid="social-error"]').innerText()).toContain('“admin” is reserved');
    expect(await page.getByLabel(/Handle/).inputValue()).toBe('admin');
    expect(await page.locator('[data-testid="address-preview"]').innerText()).toContain(`@admin@${host}`);
    expect(await violations(page)).toEqual([]);
    await page.getByLabel(/Handle/).fill('mo_weaver');
    await page.getByRole('button', { name: 'Turn on my profile' }).click();
    await page.locator('[data-testid="social-notice"]').waitFor();
    expect(await page.locator('[data-testid="social-address"]').innerText()).toBe(`@mo_weaver@${host}`);
    const ourActor = (await page.locator('[data-testid="actor-uri"]').innerText()).trim();
    expect(ourActor).toMatch(new RegExp(`^${origin}/`));

    // Follow the peer by its URL; it accepts (through our outbox and its inbox).
    await page.goto(url(linkPaths.social.home()));
    await page.getByLabel('Their address or profile URL').fill(peer.actorId());
    await page.getByRole('button', { name: 'Follow', exact: true }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toMatch(/Follow request sent|You follow them now/);
    const row = page.locator(`tr[data-uri="${peer.actorId()}"]`);
    await pollPage(page, linkPaths.social.following(), 'the peer accepts the follow', async () => (await row.getAttribute('data-status')) === 'accepted');
    expect(await row.locator('[data-testid="follow-status"]').innerText()).toBe('Accepted');
    expect(await violations(page)).toEqual([]);
    expect(await peer.waitFor((a) => a.type === 'Follow' && a.actor === ourActor, { what: 'our Follow' })).toBeTruthy();

    // The peer posts; the post shows on the timeline, sanitised, with its author linked.
    const noteId = await peer.post({ content: '<p>Fresh <b>eggs</b> at the stall today <script>alert(1)</script></p>' });
    const warned = await peer.post({ content: '<p>The ending of the film</p>', summary: 'Film spoilers', sensitive: true });
    const post = page.locator(`article[data-uri="${noteId}"]`);
    await pollPage(page, linkPaths.social.home(), "the peer's posts are on the timeline", async () => (await post.count()) === 1 && (await page.locator(`article[data-uri="${warned}"]`).count()) === 1);
    expect(await post.locator('.post-content').innerHTML()).toContain('<b>eggs</b>');
    expect(await post.locator('.post-content').innerHTML()).not.toContain('script');
    expect(await post.locator('[data-testid="post-author"]').getAttribute('href')).toBe(linkPaths.social.remoteProfile(peer.actorId()));
    // A content warning folds the post: the text is there but hidden until opened.
    const fold = page.locator(`article[data-uri="${warned}"] details[data-testid="content-warning"]`);
    expect(await fold.locator('summary').innerText()).toContain('Film spoilers');
    expect(await fold.locator('.post-content').isVisible()).toBe(false);
    await fold.locator('summary').click();
    expect(await fold.locator('.post-content').isVisible()).toBe(true);
    expect(await violations(page)).toEqual([]);

    // Like it from the browser: the peer receives the Like.
    await post.getByRole('button', { name: /^Like the post/ }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toBe('Liked.');
    expect(await page.locator(`article[data-uri="${noteId}"] [data-testid="liked"]`).count()).toBe(1);
    await peer.waitFor((a) => a.type === 'Like' && a.actor === ourActor && a.object === noteId, { what: 'our Like', timeoutMs: 60_000 });
    // …and take it back: the peer receives Undo(Like) naming the same post.
    await page.locator(`article[data-uri="${noteId}"]`).getByRole('button', { name: /Unlike the post/ }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toBe('Like taken back.');
    expect(await page.locator(`article[data-uri="${noteId}"] [data-testid="liked"]`).count()).toBe(0);
    expect(await post.getByRole('button', { name: /^Like the post/ }).count()).toBe(1);
    await peer.waitFor((a) => a.type === 'Undo' && a.actor === ourActor && (a.object as { type?: string; object?: string } | undefined)?.object === noteId, { what: 'our Undo(Like)', timeoutMs: 60_000 });

    // Reply to it: the Create reaches the peer naming the post it answers.
    await page.locator(`article[data-uri="${noteId}"] [data-testid="reply-link"]`).click();
    await page.waitForURL((u) => u.searchParams.get('reply') === noteId);
    expect(await page.locator('[data-testid="replying-to"]').innerText()).toContain('alice');
    await page.getByLabel('Your reply').fill('Lovely! Saving some for Saturday #eggs');
    await page.getByRole('button', { name: 'Reply', exact: true }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toBe('Posted.');
    const reply = await peer.waitFor((a) => a.type === 'Create' && (a.json.object as { inReplyTo?: string } | undefined)?.inReplyTo === noteId, { what: 'our reply', timeoutMs: 60_000 });
    const replyObject = reply.json.object as { id: string; attributedTo: string; content: string };
    expect(replyObject.attributedTo).toBe(ourActor);
    expect(replyObject.content).toContain('Saving some for Saturday');

    // Our own reply is under its hashtag (public posts with it, ours and other servers').
    await page.goto(url(linkPaths.social.tag('eggs')));
    expect(await page.locator(`[data-testid="tag-posts"] article[data-uri="${replyObject.id}"]`).count()).toBe(1);
    expect(await violations(page)).toEqual([]);

    // The peer likes the reply: the member is told, with the count in the navigation.
    await peer.like(replyObject.id, ourActor);
    const unread = page.locator('[data-testid="social-nav-notifications"]');
    await pollPage(page, linkPaths.social.home(), 'the like is counted as unread', async () => Number(await unread.getAttribute('data-unread')) > 0);
    await unread.click();
    await page.waitForURL((u) => u.pathname === linkPaths.social.notifications());
    const like = page.locator(`li[data-kind="like"][data-object="${replyObject.id}"]`);
    expect(await like.count()).toBe(1);
    expect(await like.innerText()).toContain('liked your post');
    expect(await violations(page)).toEqual([]);
    expect(await page.locator('li[data-kind="follow"]').count()).toBe(0);
    // Opening the list marked them read.
    expect(await unread.getAttribute('data-unread')).toBe('0');

    // The peer's profile page here: its address, following it, its posts.
    await page.goto(url(linkPaths.social.remoteProfile(peer.actorId())));
    expect(await page.locator('[data-testid="profile-address"]').innerText()).toBe(`@alice@${new URL(peer.origin).host}`);
    expect(await page.getByRole('button', { name: 'Unfollow' }).count()).toBe(1);
    expect(await violations(page)).toEqual([]);
    expect(await page.locator(`article[data-uri="${noteId}"]`).count()).toBe(1);
    // Not an account: a 404 page, not an error.
    const missing = await page.goto(url(linkPaths.social.remoteProfile(`${peer.origin}/users/nobody`)));
    expect(missing?.status()).toBe(404);
    expect(await page.locator('[data-testid="profile-not-found"]').count()).toBe(1);
    const bad = await page.goto(url(`${linkPaths.social.remoteProfile('')}javascript:alert(1)`));
    expect(bad?.status()).toBe(400);

    // The account page names the address; our own profile page shows our post.
    await page.goto(url(linkPaths.account.home()));
    expect(await page.locator('[data-testid="social-profile"]').innerText()).toContain(`@mo_weaver@${host}`);
    await page.goto(url(linkPaths.social.profile('mo_weaver')));
    expect(await page.locator('[data-testid="profile-address"]').innerText()).toBe(`@mo_weaver@${host}`);
    const own = page.locator('[data-testid="profile-posts"] article[data-testid="social-post"]');
    expect(await own.count()).toBe(1);
    expect(await own.getAttribute('data-uri')).toBe(replyObject.id);

    // A profile of the co-op's: the member may like and reply to its posts (the blog's
    // Articles, synced by the worker on start), and comes back to the profile.
    const blogPost = page.locator('[data-testid="profile-posts"] article[data-testid="social-post"]').first();
    await pollPage(page, linkPaths.social.profile('blog'), 'the blog federates its posts', async () => (await blogPost.count()) === 1, 120_000);
    const blogPostUri = (await blogPost.getAttribute('data-uri'))!;
    expect(await page.locator('[data-testid="profile-follow"]').count()).toBe(1);
    expect(await blogPost.locator('[data-testid="reply-link"]').getAttribute('href')).toBe(`${linkPaths.social.home()}?reply=${encodeURIComponent(blogPostUri)}#compose`);
    await blogPost.getByRole('button', { name: /^Like the post/ }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toBe('Liked.');
    expect(new URL(page.url()).pathname).toBe(linkPaths.social.profile('blog'));
    expect(await violations(page)).toEqual([]);

    // The member approves followers: the peer's follow waits in Notifications until approved,
    // and only then does the peer get its Accept.
    await page.goto(url(linkPaths.social.settings()));
    await page.getByLabel(/Approve followers myself/).check();
    await page.getByRole('button', { name: /Save/ }).click();
    await page.locator('[data-testid="social-notice"]').waitFor();
    await peer.follow(ourActor);
    const approve = page.getByRole('button', { name: /^Approve .* as a follower$/ });
    await pollPage(page, linkPaths.social.notifications(), 'the follow request shows', async () => (await approve.count()) === 1);
    expect(peer.received.some((a) => a.type === 'Accept' && a.actor === ourActor)).toBe(false);
    expect(await violations(page)).toEqual([]);
    await approve.click();
    await peer.waitFor((a) => a.type === 'Accept' && a.actor === ourActor, { what: 'the Accept of the approved follow', timeoutMs: 60_000 });
    expect(peer.isFollowing(ourActor)).toBe(true);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 300_000);

  it("shows a peer's reply to a blog post under the static post and the blog's profile to anyone; staff hide the reply, block the peer's server and unblock it", async () => {
    // A server of its own (blocked at the end), which nobody here follows: it mentions the blog.
    const other = await startFedifyPeer({ hostname: '127.0.0.3', actors: ['bea'] });
    onTestFinished(() => other.close());
    const webfinger = await (await fetch(url(`/.well-known/webfinger?resource=acct:blog@${new URL(origin).host}`))).json();
    const blogActor = (webfinger.links as { rel: string; href: string }[]).find((l) => l.rel === 'self')!.href;
    const page = await newPage();
    await signIn(page, linkPaths.social.moderation());
    // A public blog post federates as the blog actor's Article (synced by the worker on start);
    // its replies island says the Article's address.
    await page.goto(url(linkPaths.blog.home()));
    const href = await page.$$eval('article.post-card', (cards) => cards.find((c) => !c.querySelector('.meta strong'))?.querySelector('h2 a')?.getAttribute('href'));
    expect(href, 'the demo blog has a public post').toBeTruthy();
    const postPath = new URL(href!, origin).pathname;
    const island = page.locator('[data-testid="social-replies"]');
    await pollPage(page, postPath, 'the post federates', async () => (await island.count()) === 1 && (await island.locator('code').count()) === 1, 120_000);
    const article = (await island.locator('code').innerText()).trim();
    expect(article).toMatch(new RegExp(`^${origin}/`));
    expect(await island.getAttribute('data-count')).toBe('0');

    // Someone on another server clicking the blog's account, signed out here: the actor id sends
    // the browser to the blog's profile, which anyone may read (no follow form, a way to sign in).
    const visitor = await newPage();
    await visitor.goto(blogActor);
    expect(new URL(visitor.url()).pathname).toBe(linkPaths.social.profile('blog'));
    expect(await visitor.locator('[data-testid="profile-address"]').innerText()).toBe(`@blog@${new URL(origin).host}`);
    expect(await visitor.locator(`article[data-uri="${article}"]`).count()).toBe(1);
    expect(await visitor.locator('[data-testid="profile-follow"]').count()).toBe(0);
    expect(await visitor.locator('form').count()).toBe(0);
    expect(await visitor.locator('[data-testid="reply-link"]').count()).toBe(0);
    expect(await visitor.locator('[data-testid="sign-in-to-follow"]').getAttribute('href')).toBe(linkPaths.auth.login(linkPaths.social.profile('blog')));
    expect(await violations(visitor)).toEqual([]);
    const anonymous = await fetch(url(linkPaths.social.profile('blog')));
    expect(anonymous.status).toBe(200);
    // The same for everyone, asked again each time; never framed.
    expect(anonymous.headers.get('cache-control')).toBe('no-cache');
    expect(anonymous.headers.get('x-frame-options')).toBe('DENY');
    expect((await fetch(url(linkPaths.social.profile('nobody_here')))).status).toBe(404);
    await visitor.close();

    // The peer replies, mentioning the blog (so it is sent here): staff see it in moderation.
    const replyId = await other.post({ as: 'bea', content: '<p>What a <em>lovely</em> story</p>', inReplyTo: article, mention: { id: blogActor, name: `@blog@${new URL(origin).host}` } });
    const moderated = page.locator(`[data-testid="moderated-reply"][data-uri="${replyId}"]`);
    await pollPage(page, linkPaths.social.moderation(), 'the reply is in moderation', async () => (await moderated.count()) === 1);
    expect(await moderated.getAttribute('data-hidden')).toBe('false');

    // Hidden, then shown again: each change reaches the post page at once, though its island is
    // cached for a minute (moderation drops the cached copies).
    await moderated.getByRole('button', { name: 'Hide' }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toContain('hidden');
    expect(await moderated.getAttribute('data-hidden')).toBe('true');
    expect(await violations(page)).toEqual([]);
    await page.goto(url(postPath));
    expect(await island.getAttribute('data-count')).toBe('0');
    await page.goto(url(linkPaths.social.moderation()));
    await moderated.getByRole('button', { name: 'Show again' }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toContain('shown again');
    await page.goto(url(postPath));
    // The island loads after the page: getAttribute waits for it (count() would not).
    expect(await island.getAttribute('data-count')).toBe('1');
    const shown = island.locator(`[data-testid="social-reply"][data-uri="${replyId}"]`);
    expect(await shown.count()).toBe(1);
    expect(await shown.innerHTML()).toContain('<em>lovely</em>');
    expect(await violations(page)).toEqual([]);

    // Block the peer's whole server for the co-op: listed, its reply gone from the post, and
    // what it sends next refused.
    await page.goto(url(linkPaths.social.moderation()));
    await moderated.getByRole('button', { name: /the whole server/ }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toContain('Blocked');
    expect(await page.locator(`[data-testid="blocks"] tr[data-target="${new URL(other.origin).hostname}"]`).count()).toBe(1);
    await page.goto(url(postPath));
    expect(await island.getAttribute('data-count')).toBe('0');
    // A new reply from that server is refused.
    await other.post({ as: 'bea', content: '<p>Spam, spam, spam</p>', inReplyTo: article, mention: { id: blogActor, name: `@blog@${new URL(origin).host}` } });
    await page.goto(url(linkPaths.social.moderation()));
    expect(await page.locator('[data-testid="moderated-reply"]').filter({ hasText: 'Spam, spam' }).count()).toBe(0);
    // Under the post it answers, which links to the post's page.
    expect(await page.locator(`[data-testid="thread"][data-uri="${article}"] h3 a`).getAttribute('href')).toBe(url(postPath));

    // Unblocked: gone from the list; the reply the block hid stays hidden until shown again.
    const blockRow = page.locator(`[data-testid="blocks"] tr[data-target="${new URL(other.origin).hostname}"]`);
    await blockRow.getByRole('button', { name: /^Unblock/ }).click();
    expect(await page.locator('[data-testid="social-notice"]').innerText()).toContain('Unblocked');
    expect(await blockRow.count()).toBe(0);
    expect(await moderated.getAttribute('data-hidden')).toBe('true');
    expect(await violations(page)).toEqual([]);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 300_000);

  it('keeps moderation to staff, and refuses cross-site, oversized and wrongly typed posts', async () => {
    const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
      fetch(url(path), { method: 'POST', redirect: 'manual', headers: { origin, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    const login = await post(linkPaths.auth.login(), new URLSearchParams({ email: 'pat@example.org', password }));
    expect(login.status).toBe(303);
    const cookie = `rose_session=${/rose_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')![1]}`;

    // A member (no profile yet) is told to turn one on; moderation is not theirs.
    const home = await fetch(url(linkPaths.social.home()), { headers: { cookie } });
    expect(home.status).toBe(200);
    expect(home.headers.get('cache-control')).toContain('no-store');
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    expect(await home.text()).toContain('data-testid="no-profile"');
    const moderation = await fetch(url(linkPaths.social.moderation()), { headers: { cookie } });
    expect(moderation.status).toBe(403);
    expect(await moderation.text()).not.toContain('data-testid="block-form"');
    const block = await post(linkPaths.social.moderation(), new URLSearchParams({ action: 'block', target: 'spam.example' }), { cookie });
    expect(block.status).toBe(403);
    // A public profile, signed in: private to the member, who is told to turn a profile on to follow.
    const profile = await fetch(url(linkPaths.social.profile('blog')), { headers: { cookie } });
    expect(profile.status).toBe(200);
    expect(profile.headers.get('cache-control')).toBe('private, no-store');
    const profileHtml = await profile.text();
    expect(profileHtml).toContain('Turn on your social profile</a> to follow');
    expect(profileHtml).not.toContain('data-testid="profile-follow"');

    // Signed out: sent to sign in.
    const anonymous = await fetch(url(linkPaths.social.notifications()), { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe(linkPaths.auth.login(linkPaths.social.notifications()));
    // A public profile reads signed out, but following from it needs signing in first.
    const follow = await post(linkPaths.social.profile('blog'), new URLSearchParams({ action: 'follow' }));
    expect(follow.status).toBe(303);
    expect(follow.headers.get('location')).toBe(linkPaths.auth.login(linkPaths.social.profile('blog')));

    // The request limits of the social routes.
    expect((await post(linkPaths.social.home(), new URLSearchParams({ action: 'follow', target: 'x@y.example' }), { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(linkPaths.social.home(), JSON.stringify({ action: 'compose' }), { cookie, 'content-type': 'application/json' })).status).toBe(415);
    expect((await post(linkPaths.social.settings(), new URLSearchParams({ action: 'enable', handle: 'x'.repeat(20_000) }), { cookie })).status).toBe(413);
    expect((await post(linkPaths.social.tag('eggs'), new URLSearchParams({ action: 'like' }), { cookie })).status).toBe(405);
    // Nothing of that turned a profile on; the account page says how to.
    expect(await (await fetch(url(linkPaths.social.settings()), { headers: { cookie } })).text()).toContain('data-testid="enable-profile"');
    expect(await (await fetch(url(linkPaths.account.home()), { headers: { cookie } })).text()).toContain(`<a href="${linkPaths.social.settings()}">Turn on your social profile</a>`);
  }, 120_000);
});
