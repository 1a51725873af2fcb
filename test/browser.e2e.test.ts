import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuiltSite, freePort, launchBrowser, makeProjectTempDir, startRose, startSmtpSink, type RunningRose, type SmtpSink } from '@rose/testing';

// What a reader sees in a real browser: the static blog, the account-menu server island
// filled in after load, and the client-side search.
describe('blog in a browser (Chromium)', () => {
  let tmp: string;
  let server: RunningRose;
  let browser: Browser;
  let smtp: SmtpSink;

  beforeAll(async () => {
    tmp = await makeProjectTempDir('browser');
    smtp = await startSmtpSink();
    const port = await freePort();
    // The demo site, migrated, seeded and built once per checkout state (shared by e2e files).
    const env = { ...(await copyBuiltSite(tmp)), SMTP_URL: smtp.url, ROSE_SITE_URL: `http://127.0.0.1:${port}`, ROSE_PART_ORIGINS: `http://localhost:${port}` };
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
    browser = await launchBrowser();
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('shows the blog and fills the account menu island with "Sign in"', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(new URL('/blog/', server.url).toString());
    await expect.poll(() => page.locator('[data-testid="sign-in"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('[data-testid="sign-in"]').textContent()).toBe('Sign in');
    expect(await page.locator('article.post-card').count()).toBe(10);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('finds posts with the client-side search and opens one', async () => {
    const page = await browser.newPage();
    await page.goto(new URL('/blog/search/', server.url).toString());
    await page.fill('#q', 'cold room');
    const first = page.locator('#search-results li a').first();
    await expect.poll(() => first.textContent(), { timeout: 10_000 }).toMatch(/cold room/i);
    await page.fill('#q', 'zzzz-nothing');
    await expect.poll(() => page.locator('#search-status').textContent()).toBe('No posts match.');
    await page.fill('#q', 'sourdough');
    await page.locator('#search-results li a').first().click();
    await page.waitForURL(/\/blog\/[a-z0-9-]+\/$/);
    expect((await page.locator('h1').textContent())?.toLowerCase()).toContain('sourdough');
    await page.close();
  });

  it('signs up, confirms the mailed link, signs in, sees the name on a static page, is signed in on a second host silently, signs out everywhere', async () => {
    const page = await browser.newPage();
    await page.goto(new URL('/blog/', server.url).toString());
    await page.locator('[data-testid="sign-in"]').click();
    await page.waitForURL(/\/auth\/login/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.fill('input[name=name]', 'Dora Miller');
    await page.fill('input[name=email]', 'dora@example.org');
    await page.fill('input[name=password]', 'Brambles-and-Blackberries-7');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('[data-testid="check-email"]').waitFor();

    const mail = (await smtp.waitFor('dora@example.org')).replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const link = /(http:\/\/\S+\/auth\/verify\?token=[a-z2-7]+)/.exec(mail)![1]!;
    await page.goto(new URL(new URL(link).pathname + new URL(link).search, server.url).toString());
    // Opening the link only shows the button (mail scanners open links too).
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await page.locator('[data-testid="verified"]').waitFor();

    await page.goto(new URL('/auth/login?return_to=/blog/', server.url).toString());
    await page.fill('input[name=email]', 'dora@example.org');
    await page.fill('input[name=password]', 'Brambles-and-Blackberries-7');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/blog\/$/);
    // The static page's account-menu island now shows who is signed in.
    await expect.poll(() => page.locator('[data-testid="account-link"]').textContent(), { timeout: 10_000 }).toBe('Dora Miller');

    // The same co-op on a second host name: signed in there too, without typing.
    const port = new URL(server.url).port;
    await page.goto(`http://localhost:${port}/blog/`);
    await page.locator('[data-testid="sign-in"]').click();
    // Back on the page the visitor came from, now signed in.
    await page.waitForURL(`http://localhost:${port}/blog/`);
    await expect.poll(() => page.locator('[data-testid="account-link"]').textContent(), { timeout: 10_000 }).toBe('Dora Miller');
    await page.goto(`http://localhost:${port}/account/`);
    expect(await page.locator('[data-testid="account-name"] strong').textContent()).toBe('Dora Miller');

    await page.goto(new URL('/blog/', server.url).toString());
    await page.locator('[data-testid="account-link"]').click();
    await page.waitForURL(/\/account\/$/);
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.waitForURL(/\/auth\/login/);
    await page.goto(new URL('/blog/', server.url).toString());
    await expect.poll(() => page.locator('[data-testid="sign-in"]').count(), { timeout: 10_000 }).toBe(1);
    // ...and on the second host as well.
    await page.goto(`http://localhost:${port}/blog/`);
    await expect.poll(() => page.locator('[data-testid="sign-in"]').count(), { timeout: 10_000 }).toBe(1);
    await page.close();
  });
});
