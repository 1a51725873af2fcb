import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBuiltSite, freePort, httpRequest, makeProjectTempDir, runRose, startRose, type RunningRose } from '@rose/testing';

const password = 'Correct-Horse-Battery-42';

// Accounts over HTTP against `rose serve`: sign up, verify by the mailed link, sign in,
// the island and account page, sign out — and the attacks that must fail. One server for the
// file; each test signs up the accounts it uses, so none depends on another having run.
describe('accounts over HTTP', () => {
  let tmp: string;
  let env: Record<string, string>;
  let server: RunningRose;
  let origin: string;
  let port: number;

  const post = (p: string, form: Record<string, string>, opts: { cookie?: string; origin?: string | null } = {}) =>
    fetch(new URL(p, server.url), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(opts.origin === null ? {} : { origin: opts.origin ?? origin }),
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
      },
      body: new URLSearchParams(form),
    });
  const get = (p: string, cookie?: string) => fetch(new URL(p, server.url), { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const sessionCookie = (res: Response) => /rose_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  // Mail goes out through the outbox worker inside `rose serve`: wait for the next one to
  // an address (files are named by time and recipient).
  const mailDir = () => path.join(tmp, '.rose', 'mail');
  const mailFiles = async () => (await fs.readdir(mailDir()).catch(() => [] as string[])).sort();
  const seen = new Set<string>();
  const nextMailTo = async (to: string) => {
    const tag = `-${to}.eml`;
    let file: string | undefined;
    await expect
      .poll(
        async () => {
          file = (await mailFiles()).find((f) => f.endsWith(tag) && !seen.has(f));
          return file;
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBeDefined();
    seen.add(file!);
    // Undo quoted-printable soft breaks and folded header lines.
    return (await fs.readFile(path.join(mailDir(), file!), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/g, '=').replace(/\r?\n[ \t]+/g, ' ');
  };
  const signIn = async (email: string) => {
    const res = await post('/auth/login', { email, password });
    expect(res.status).toBe(303);
    return `rose_session=${sessionCookie(res)}`;
  };
  /** A confirmed account of the calling test's own: signed up, confirmed by its mailed link. */
  const confirmedAccount = async (name: string) => {
    const email = `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.org`;
    expect((await post('/auth/signup', { name, email, password })).status).toBe(200);
    const token = /\/auth\/verify\?token=([a-z2-7]+)/.exec(await nextMailTo(email))![1]!;
    expect((await post('/auth/verify', { token })).status).toBe(200);
    return email;
  };

  beforeAll(async () => {
    tmp = await makeProjectTempDir('accounts');
    port = await freePort();
    // The demo site, migrated, seeded and built once per checkout state (shared by e2e files).
    env = { ...(await copyBuiltSite(tmp)), ROSE_SITE_URL: `http://127.0.0.1:${port}`, ROSE_LOG_LEVEL: 'debug' };
    server = await startRose(['serve', '--port', String(port), '--host', '127.0.0.1'], env);
    origin = new URL(server.url).origin;
  }, 420_000); // the first file to need the built site builds it: minutes on a busy machine
  afterAll(async () => {
    await server?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('signs up, confirms by the mailed link (a GET only shows the button), and signs in', async () => {
    const signup = await post('/auth/signup', { name: 'Ann Baker', email: 'ann@example.org', password });
    expect(signup.status).toBe(200);
    expect(await signup.text()).toContain('Check your email');
    const mail = await nextMailTo('ann@example.org');
    expect(mail).toContain('To: ann@example.org');
    // Greets with the site's name (content/site.json), not its host.
    expect(mail).toContain('Welcome to Rose Ash Co-operative, Ann Baker!');
    expect(mail).toContain('Subject: Confirm your email address for Rose Ash Co-operative');
    expect(mail).not.toMatch(/Welcome to (127\.0\.0\.1|localhost)/);
    const link = /(http:\/\/\S+\/auth\/verify\?token=[a-z2-7]+)/.exec(mail)![1]!;
    const linkPath = new URL(link).pathname + new URL(link).search;
    const token = new URL(link).searchParams.get('token')!;
    // A mail scanner or link preview fetching the link uses nothing up.
    for (let i = 0; i < 2; i++) {
      const preview = await get(linkPath);
      expect(preview.status).toBe(200);
      const html = await preview.text();
      expect(html).toContain('Confirm my address');
      expect(html).not.toContain('Email confirmed');
    }
    const early = await post('/auth/login', { email: 'ann@example.org', password });
    expect(early.status).toBe(403); // not verified yet
    const confirm = await post('/auth/verify', { token });
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Email confirmed');
    // Once confirmed, the link (opened or posted again) says so instead of failing.
    expect(await (await post('/auth/verify', { token })).text()).toContain('Email confirmed');
    const again = await get(linkPath);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('Email confirmed');
    expect((await get('/auth/verify?token=' + 'a'.repeat(52))).status).toBe(400);
    const cookie = await signIn('ann@example.org');
    const account = await get('/account/', cookie);
    expect(account.status).toBe(200);
    expect(account.headers.get('cache-control')).toContain('no-store');
    expect(account.headers.get('x-frame-options')).toBe('DENY');
    expect((await get('/auth/login')).headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await account.text()).toContain('<strong>Ann Baker</strong>');
  });

  it('shows the user in the account-menu island of a static page', async () => {
    const cookie = await signIn(await confirmedAccount('Ida Reader'));
    const page = await (await get('/blog/')).text();
    const island = /href="(\/_server-islands\/AccountMenu[^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    expect(await (await get(island, cookie)).text()).toContain('Ida Reader');
    expect(await (await get(island)).text()).toContain('Sign in');
  });

  it('changes the session at login (no fixation) and rejects a planted or unknown session', async () => {
    const email = await confirmedAccount('Fay Fixed');
    const planted = 'rose_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect((await get('/account/', planted)).status).toBe(303);
    const res = await fetch(new URL('/auth/login', server.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie: planted },
      body: new URLSearchParams({ email, password }),
    });
    const issued = sessionCookie(res);
    expect(issued).toMatch(/^[a-z2-7]{32}$/);
    expect(issued).not.toBe('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
  });

  it('refuses cross-site form posts (CSRF) and open redirects', async () => {
    const email = await confirmedAccount('Cass Origin');
    const cookie = await signIn(email);
    const forged = await post('/account/', { action: 'sign-out-everywhere' }, { cookie, origin: 'https://evil.example' });
    expect(forged.status).toBe(403);
    expect((await get('/account/', cookie)).status).toBe(200); // still signed in
    const noOrigin = await post('/auth/logout', {}, { cookie, origin: null });
    expect(noOrigin.status).toBe(403);
    const redirect = await post('/auth/login?return_to=//evil.example/x', { email, password, return_to: 'https://evil.example/' });
    expect(redirect.headers.get('location')).toBe('/account/');
  });

  it("signing up with a taken address answers exactly as a new one, and tells the address's owner", async () => {
    const owner = await confirmedAccount('Tom Taken');
    const fresh = await post('/auth/signup', { name: 'Erin', email: 'erin@example.org', password: 'Kettle-orchard-passphrase-7' });
    const taken = await post('/auth/signup', { name: 'Someone', email: owner.toUpperCase(), password: 'Another-passphrase-9' });
    expect(taken.status).toBe(fresh.status);
    expect(await taken.text()).toBe(await fresh.text());
    expect(await nextMailTo('erin@example.org')).toContain('/auth/verify?token=');
    const notice = await nextMailTo(owner);
    expect(notice).toContain('Subject: Someone tried to sign up at Rose Ash Co-operative with your address');
    expect(notice).not.toContain('token=');
  });

  it('refuses the commonest passwords and one made of the name', async () => {
    const common = await post('/auth/signup', { name: 'Finn', email: 'finn@example.org', password: 'password123' });
    expect(common.status).toBe(400);
    expect(await common.text()).toContain('one of the most common ones');
    const named = await post('/auth/signup', { name: 'Finn Mason', email: 'fm@example.org', password: 'Finn Mason 1990' });
    expect(await named.text()).toContain('Do not use your name in the password.');
  });

  it("an attacker's wrong guesses from one address get 429 with Retry-After, and never lock the owner out of another", async () => {
    const email = await confirmedAccount('Vic Target');
    const attempt = (localAddress: string, pw: string) =>
      httpRequest(new URL('/auth/login', server.url), {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ email, password: pw }).toString(),
      });
    let last;
    for (let i = 0; i < 20; i++) last = await attempt('127.0.0.1', `wrong-${i}-guess`);
    expect(last!.status).toBe(429);
    expect(last!.statusText).toBe('Too Many Requests');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.text).toMatch(/Too many sign-in attempts. Please wait \d+ (seconds|minutes) and try again/);
    expect((await attempt('127.0.0.1', password)).status).toBe(429); // that address waits, even with the password
    // The owner, from another address, signs in at once.
    const owner = await attempt('127.0.0.2', password);
    expect(owner.status).toBe(303);
    expect(owner.headers['set-cookie']?.join(';')).toMatch(/rose_session=[a-z2-7]{32}/);
  });

  // While `rose serve` holds the embedded database: the commands reach it through its socket.
  it('rose users: create an admin from stdin, list, change a role; clear errors', async () => {
    const member = await confirmedAccount('Stan Promoted');
    const created = await runRose(['users', 'create', '--email', 'cleo@example.org', '--name', 'Cleo', '--role', 'admin', '--password-stdin'], env, { stdin: `${password}\n` });
    expect(created.code, created.stderr).toBe(0);
    const list = await runRose(['users', 'list'], env);
    expect(list.stdout).toMatch(/cleo@example\.org\s+admin\s+free\s+confirmed/);
    const promoted = await runRose(['users', 'set-role', '--email', member, '--role', 'staff'], env);
    expect(promoted.code, promoted.stderr).toBe(0);
    const listed = await runRose(['users', 'list'], env);
    expect(listed.stdout, listed.stderr).toMatch(/stan\.promoted@example\.org\s+staff/);
    const dup = await runRose(['users', 'create', '--email', 'CLEO@example.org', '--name', 'C2', '--password-stdin'], env, { stdin: password });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already has an account');
    // The last admin stays one.
    const lastAdmin = await runRose(['users', 'set-role', '--email', 'cleo@example.org', '--role', 'member'], env);
    expect(lastAdmin.code).toBe(1);
    expect(lastAdmin.stderr).toContain('cleo@example.org is the only admin');
    expect(lastAdmin.stderr).toContain('rose users set-role --email OTHER --role admin');
    expect((await runRose(['users', 'list'], env)).stdout).toMatch(/cleo@example\.org\s+admin/);
    const weak = await runRose(['users', 'create', '--email', 'gus@example.org', '--name', 'Gus', '--password-stdin'], env, { stdin: 'Password123!' });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('most common');
    expect(created.stdout + created.stderr + list.stdout).not.toContain(password);
  }, 240_000); // seven CLI runs, each starting Node

  it('resets a forgotten password by a single-use link, and changes a password', async () => {
    const email = await confirmedAccount('Rita Reset');
    const asked = await post('/auth/reset', { email });
    expect(asked.status).toBe(200);
    const unknown = await post('/auth/reset', { email: 'nobody@example.org' });
    expect(await unknown.text()).toContain('If that address has an account'); // same answer
    const link = /(\/auth\/reset\/confirm\?token=[a-z2-7]+)/.exec(await nextMailTo(email))![1]!;
    const token = link.split('token=')[1]!;
    expect((await get(link)).status).toBe(200);
    const weak = await post('/auth/reset/confirm', { token, password: 'short' });
    expect(weak.status).toBe(400);
    const reset = await post('/auth/reset/confirm', { token, password: 'A-brand-new-passphrase' });
    expect(await reset.text()).toContain('Your password is changed');
    expect((await post('/auth/reset/confirm', { token, password: 'Yet-another-passphrase' })).status).toBe(400); // used
    expect((await post('/auth/login', { email, password })).status).toBe(401);
    const cookie = await (async () => {
      const res = await post('/auth/login', { email, password: 'A-brand-new-passphrase' });
      expect(res.status).toBe(303);
      return `rose_session=${sessionCookie(res)}`;
    })();
    const wrong = await post('/account/', { action: 'change-password', current: 'not-it-at-all', next: password }, { cookie });
    expect(wrong.status).toBe(400);
    const changed = await post('/account/', { action: 'change-password', current: 'A-brand-new-passphrase', next: password }, { cookie });
    expect(await changed.text()).toContain('Your password is changed');
    expect((await post('/auth/login', { email, password })).status).toBe(303);
  });

  it('changes the email address only once the link sent to the new address is opened', async () => {
    const cookie = await signIn(await confirmedAccount('Cleo Moving'));
    const wrong = await post('/account/', { action: 'change-email', email: 'cleo.new@example.org', password: 'not-my-password' }, { cookie });
    expect(wrong.status).toBe(400);
    const asked = await post('/account/', { action: 'change-email', email: 'cleo.new@example.org', password }, { cookie });
    expect(await asked.text()).toContain('We sent a link to the new address');
    const toNew = await nextMailTo('cleo.new@example.org');
    expect(await nextMailTo('cleo.moving@example.org')).toContain('about to change');
    expect((await post('/auth/login', { email: 'cleo.new@example.org', password })).status).toBe(401); // not yet
    const link = /(\/auth\/email-change\?token=[a-z2-7]+)/.exec(toNew)![1]!;
    const preview = await get(link); // a scanner or preview: shows the button, changes nothing
    expect(await preview.text()).toContain('Use this address');
    expect((await post('/auth/login', { email: 'cleo.new@example.org', password })).status).toBe(401);
    const token = link.split('token=')[1]!;
    expect(await (await post('/auth/email-change', { token })).text()).toContain('Your account now uses cleo.new@example.org');
    expect(await (await get(link)).text()).toContain('Your account now uses cleo.new@example.org'); // done already: says so
    expect(await (await get('/account/', cookie)).text()).toContain('cleo.new@example.org');
    expect((await post('/auth/login', { email: 'cleo.new@example.org', password })).status).toBe(303);
  });

  it('signs out everywhere, and never logs a password', async () => {
    const email = await confirmedAccount('Bob Leaving');
    const a = await signIn(email);
    const b = await signIn(email);
    const out = await post('/account/', { action: 'sign-out-everywhere' }, { cookie: a });
    expect(out.status).toBe(303);
    expect((await get('/account/', a)).status).toBe(303);
    expect((await get('/account/', b)).status).toBe(303);
    expect(server.output()).not.toContain(password);
  });
});
