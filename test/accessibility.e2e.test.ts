import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountLinks, blogLinks, siteLinks } from '@rose/core';
import { copyBuiltSite, createEmptyPostgresDatabase, freePort, launchBrowser, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';

// Every kind of page a reader, a member or a third-party app's user sees, checked by axe-core
// in Chromium against WCAG 2.2 A and AA (and axe's best practices): no serious or critical
// violation may remain. Pages are checked as they are once loaded (islands filled in).
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const password = 'Orchard-ladders-and-cider-9';

describe('accessibility of every page type (axe-core in Chromium)', () => {
  let tmp: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  let server: RunningRose;
  let browser: Browser;
  let member: BrowserContext;
  /** A visitor who is not signed in (axe needs pages of a context, not of the browser). */
  let visitor: BrowserContext;
  let clientId: string;
  let site: string;
  const redirectUri = 'http://127.0.0.1:9/callback';

  const rose = async (args: string[], stdin?: string) => {
    const r = await runRose(args, env, { timeoutMs: 300_000, ...(stdin === undefined ? {} : { stdin }) });
    if (r.code !== 0) throw new Error(`rose ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  /** The serious and critical violations on the page, one line each (rule, what, where). */
  async function violations(page: Page): Promise<string[]> {
    const result = await new AxeBuilder({ page }).withTags(tags).analyze();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} — ${n.target.join(' ')}: ${n.failureSummary?.replace(/\s+/g, ' ') ?? ''}`));
  }

  async function check(page: Page, path: string, ready: (page: Page) => Promise<unknown>) {
    await page.goto(new URL(path, site).toString());
    await ready(page);
    expect(await violations(page), `${path} (${await page.title()})`).toEqual([]);
  }
  /** Static pages are checked once the account-menu island has replaced its placeholder. */
  const islandFilled = (p: Page) => p.locator('.account-menu a').first().waitFor();

  beforeAll(async () => {
    tmp = await makeProjectTempDir('a11y');
    const database = await createEmptyPostgresDatabase();
    drop = database.drop;
    const port = await freePort();
    site = `http://127.0.0.1:${port}`;
    // The demo site's release (built once per checkout state, shared by e2e files) over the
    // same content seeded into Postgres.
    env = { ...(await copyBuiltSite(tmp)), DATABASE_URL: database.url, ROSE_SITE_URL: site };
    await rose(['db', 'migrate']);
    await rose(['db', 'seed']);
    await rose(['users', 'create', '--email', 'ivy@example.org', '--name', 'Ivy Gardener', '--password-stdin'], password);
    clientId = /client_id: (\S+)/.exec((await rose(['oauth', 'clients', 'add', '--name', 'Seed Swap App', '--redirect-uri', redirectUri])).stdout)![1]!;
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1', '--no-worker'], env);
    browser = await launchBrowser();
    visitor = await browser.newContext();
    // A signed-in member, for the account and consent pages.
    member = await browser.newContext();
    const page = await member.newPage();
    await page.goto(new URL(accountLinks.signIn(), site).toString());
    await page.fill('input[name=email]', 'ivy@example.org');
    await page.fill('input[name=password]', password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/auth/login'));
    await page.close();
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine

  afterAll(async () => {
    await member?.close();
    await visitor?.close();
    await browser?.close();
    await server?.stop();
    await drop?.();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('the check itself fails on a serious violation (an image without a text alternative, unreadable text)', async () => {
    const page = await visitor.newPage();
    await page.goto(new URL(siteLinks.home(), site).toString());
    await islandFilled(page);
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.src = '/favicon.ico';
      const faint = document.createElement('p');
      faint.textContent = 'Market opens at nine';
      faint.style.color = '#f4f4f4';
      document.querySelector('main')!.append(img, faint);
    });
    const found = await violations(page);
    expect(found.some((v) => v.startsWith('image-alt (critical)'))).toBe(true);
    expect(found.some((v) => v.startsWith('color-contrast (serious)'))).toBe(true);
    await page.close();
  });

  it('the front page', async () => {
    const page = await visitor.newPage();
    await check(page, siteLinks.home(), islandFilled);
    await page.close();
  });

  it('the blog index, a second list page and the 404 page', async () => {
    const page = await visitor.newPage();
    await check(page, blogLinks.home(), islandFilled);
    await check(page, blogLinks.listPage(2), islandFilled);
    await check(page, '/blog/no-such-post/', islandFilled);
    await page.close();
  });

  it('a post with its picture, and a members-only post', async () => {
    const page = await visitor.newPage();
    await check(page, blogLinks.post('wild-garlic-pesto'), islandFilled);
    await check(page, blogLinks.post('cold-room-share-offer'), islandFilled);
    await page.close();
  });

  it('a tag page and an author page', async () => {
    const page = await visitor.newPage();
    await check(page, blogLinks.tag('recipes'), islandFilled);
    await check(page, blogLinks.author('maya-okafor'), islandFilled);
    await page.close();
  });

  it('search, empty and with results', async () => {
    const page = await visitor.newPage();
    await check(page, blogLinks.search(), islandFilled);
    await page.fill('#q', 'cold room');
    await page.locator('#search-results li a').first().waitFor();
    expect(await violations(page)).toEqual([]);
    await page.close();
  });

  it('sign-in and signup, blank and after a mistake', async () => {
    const page = await visitor.newPage();
    await check(page, accountLinks.signIn(), (p) => p.locator('form').first().waitFor());
    await page.fill('input[name=email]', 'ivy@example.org');
    await page.fill('input[name=password]', 'not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.error, [role=alert]').first().waitFor();
    expect(await violations(page), 'sign-in with an error').toEqual([]);
    await check(page, accountLinks.signUp(), (p) => p.locator('form').first().waitFor());
    await page.fill('input[name=name]', 'Jo Weaver');
    await page.fill('input[name=email]', 'jo@example.org');
    await page.fill('input[name=password]', 'password123');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('.error').waitFor();
    expect(await violations(page), 'signup refusing a common password').toEqual([]);
    await page.close();
  });

  it('the account page of a signed-in member', async () => {
    const page = await member.newPage();
    await check(page, accountLinks.home(), (p) => p.locator('[data-testid="account-name"]').waitFor());
    // A static page with the island showing who is signed in.
    await check(page, blogLinks.home(), (p) => p.locator('[data-testid="account-link"]').waitFor());
    await page.close();
  });

  it("the consent page a third-party app's user sees", async () => {
    const discovery = (await (await fetch(new URL('/auth/.well-known/openid-configuration', site))).json()) as { authorization_endpoint: string };
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(discovery.authorization_endpoint);
    authorize.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid email profile',
      state: 'a11y',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const page = await member.newPage();
    await page.goto(authorize.toString());
    await page.getByRole('heading', { name: /Seed Swap App/ }).waitFor();
    expect(await violations(page), page.url()).toEqual([]);
    await page.close();
  });
});
