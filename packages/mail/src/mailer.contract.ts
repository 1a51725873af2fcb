import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailer, MailMessage } from './mailer.ts';

export interface MailerUnderTest {
  readonly mailer: Mailer;
  /** The raw messages (RFC 5322, as a mail program would read them) delivered to `to`, oldest first. */
  received(to: string): Promise<string[]>;
  stop(): Promise<void>;
}

export const contractFrom = 'Mill Lane Co-op <no-reply@mill-lane.example>';

/**
 * What every Mailer must do, checked on what arrives at the other end (parsed with
 * postal-mime, as a mail program would). Run by smtp-mailer.test.ts against a real SMTP
 * server on loopback and by file-mailer.test.ts against the files it writes. Create the
 * mailer with `contractFrom` as its sender.
 */
export function describeMailerContract(name: string, setup: () => Promise<MailerUnderTest>): void {
  describe(`${name} mailer (contract)`, () => {
    let t: MailerUnderTest;
    beforeAll(async () => {
      t = await setup();
    });
    afterAll(async () => {
      await t?.stop();
    });

    // A MIME parser keeps the line break before a part's boundary; it is not the sender's.
    const body = (text: string | undefined) => text?.replace(/\r?\n$/, '');
    const only = async (to: string) => {
      const raw = await t.received(to);
      expect(raw).toHaveLength(1);
      return PostalMime.parse(raw[0]!);
    };

    it('delivers sender, recipient, subject, and the text with its HTML alternative', async () => {
      const sent = await t.mailer.send({
        to: 'ann@example.org',
        subject: 'Confirm your email address for Mill Lane Co-op',
        text: 'Welcome, Ann!\n\nConfirm: https://mill-lane.example/auth/verify?token=abc\n',
        html: '<p>Welcome, Ann!</p><p><a href="https://mill-lane.example/auth/verify?token=abc">Confirm</a></p>',
      });
      const mail = await only('ann@example.org');
      expect(mail.from).toMatchObject({ address: 'no-reply@mill-lane.example', name: 'Mill Lane Co-op' });
      expect(mail.to).toEqual([expect.objectContaining({ address: 'ann@example.org' })]);
      expect(mail.subject).toBe('Confirm your email address for Mill Lane Co-op');
      expect(body(mail.text)).toBe('Welcome, Ann!\n\nConfirm: https://mill-lane.example/auth/verify?token=abc\n');
      expect(body(mail.html)).toBe('<p>Welcome, Ann!</p><p><a href="https://mill-lane.example/auth/verify?token=abc">Confirm</a></p>');
      expect(mail.messageId).toBe(sent.messageId);
      expect(sent.messageId).toMatch(/^<[0-9a-f-]{36}@mill-lane\.example>$/);
      expect(Date.parse(mail.date ?? '')).not.toBeNaN();
    });

    it('keeps text that is not ASCII, and long lines, intact', async () => {
      const long = `Line: ${'wörd '.repeat(400).trim()}`;
      await t.mailer.send({ to: 'zoë@example.org', subject: 'Café ☕ — naïve façade 🍎', text: `${long}\nSecond line ✓\n`, html: `<p>Ünïcode — ☕</p>` });
      const mail = await only('zoë@example.org');
      expect(mail.subject).toBe('Café ☕ — naïve façade 🍎');
      expect(body(mail.text)).toBe(`${long}\nSecond line ✓\n`);
      expect(body(mail.html)).toBe('<p>Ünïcode — ☕</p>');
    });

    it('sends the text alone when there is no HTML', async () => {
      await t.mailer.send({ to: 'bob@example.org', subject: 'Plain', text: 'Just text.\n' });
      const [raw] = await t.received('bob@example.org');
      const mail = await PostalMime.parse(raw!);
      expect(mail.text).toBe('Just text.\n');
      expect(mail.html).toBeUndefined();
      expect(raw).not.toMatch(/multipart\/alternative/i);
    });

    it('carries the extra headers it is given', async () => {
      await t.mailer.send({ to: 'cara@example.org', subject: 'Headers', text: 'x', headers: { 'Auto-Submitted': 'auto-generated', 'X-Rose-Part': 'auth' } });
      const mail = await only('cara@example.org');
      const header = (key: string) => mail.headers.find((h) => h.key === key)?.value;
      expect(header('auto-submitted')).toBe('auto-generated');
      expect(header('x-rose-part')).toBe('auth');
    });

    it('keeps each of two messages to one address', async () => {
      await t.mailer.send({ to: 'dan@example.org', subject: 'First', text: '1' });
      await t.mailer.send({ to: 'dan@example.org', subject: 'Second', text: '2' });
      const subjects = await Promise.all((await t.received('dan@example.org')).map(async (raw) => (await PostalMime.parse(raw)).subject));
      expect(subjects.sort()).toEqual(['First', 'Second']);
    });

    it('refuses, before sending anything, a message that could add recipients or headers', async () => {
      const attempts: MailMessage[] = [
        { to: 'eve@example.org', subject: 'Hi\r\nBcc: mallory@example.org', text: 'x' },
        { to: 'eve@example.org, mallory@example.org', subject: 'Hi', text: 'x' },
        { to: 'Eve <eve@example.org>', subject: 'Hi', text: 'x' },
        { to: 'eve@example.org\nBcc: mallory@example.org', subject: 'Hi', text: 'x' },
        { to: 'eve@example.org', subject: 'Hi', text: 'x', headers: { Bcc: 'mallory@example.org' } },
        { to: 'eve@example.org', subject: 'Hi', text: 'x', headers: { 'X-Note': 'a\r\nBcc: mallory@example.org' } },
        { to: 'eve@example.org', subject: 'Hi', text: 'x', headers: { 'X Note': 'a' } },
        { to: 'eve@example.org', subject: ' ', text: 'x' },
      ];
      for (const message of attempts) await expect(t.mailer.send(message), JSON.stringify(message)).rejects.toThrow(RangeError);
      expect(await t.received('eve@example.org')).toEqual([]);
      expect(await t.received('mallory@example.org')).toEqual([]);
    });
  });
}
