import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixedClock } from '@rose/core';
import { MailSendError } from './mail-send.error.ts';
import { contractFrom, describeMailerContract } from './mailer.contract.ts';
import { createFileMailer, type WrittenMail } from './file-mailer.ts';

const emlTo = (dir: string, to: string) => async () => {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(`-${to.replace(/[^a-z0-9@.+-]/gi, '_')}.eml`)).sort();
  return Promise.all(names.map((f) => fs.readFile(path.join(dir, f), 'utf8')));
};

describeMailerContract('file', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-file-mailer-'));
  // A clock that never moves: every message of the suite has the same time in its name.
  const clock = createFixedClock(new Date('2026-11-29T12:00:00.000Z'));
  return {
    mailer: createFileMailer({ dir: path.join(dir, 'mail'), from: contractFrom, clock }),
    received: (to) => emlTo(path.join(dir, 'mail'), to)(),
    stop: () => fs.rm(dir, { recursive: true, force: true }),
  };
});

describe('file mailer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rose-file-mailer-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes <time>-<to>.eml and .json, readable by the owner only, and says where', async () => {
    const logged: unknown[] = [];
    const clock = createFixedClock(new Date('2026-11-29T12:34:56.789Z'));
    const mailDir = path.join(dir, 'data', 'mail');
    const mailer = createFileMailer({ dir: mailDir, from: contractFrom, clock, log: (message, fields) => logged.push({ message, ...fields }) });
    const sent = await mailer.send({ to: 'ann@example.org', subject: 'Hello', text: 'Hi Ann', html: '<p>Hi Ann</p>', headers: { 'Auto-Submitted': 'auto-generated' } });

    expect(sent.file).toBe(path.join(mailDir, '2026-11-29T12-34-56-789Z-ann@example.org.eml'));
    expect((await fs.readdir(mailDir)).sort()).toEqual(['2026-11-29T12-34-56-789Z-ann@example.org.eml', '2026-11-29T12-34-56-789Z-ann@example.org.json']);
    expect((await fs.stat(mailDir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(sent.file!)).mode & 0o777).toBe(0o600);
    const json = JSON.parse(await fs.readFile(sent.file!.replace(/\.eml$/, '.json'), 'utf8')) as WrittenMail;
    expect(json).toEqual({
      messageId: sent.messageId,
      date: '2026-11-29T12:34:56.789Z',
      from: contractFrom,
      to: 'ann@example.org',
      subject: 'Hello',
      text: 'Hi Ann',
      html: '<p>Hi Ann</p>',
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    expect(logged).toEqual([{ message: 'mail written to file (no SMTP_URL set)', file: sent.file, to: 'ann@example.org', subject: 'Hello' }]);
  });

  it('gives messages sent at the same instant names of their own, and leaves no temporary files', async () => {
    const clock = createFixedClock(new Date('2026-11-29T13:00:00.000Z'));
    const mailDir = path.join(dir, 'burst');
    const mailer = createFileMailer({ dir: mailDir, from: contractFrom, clock });
    const sent = await Promise.all(Array.from({ length: 5 }, (_, i) => mailer.send({ to: 'bo@example.org', subject: `n${i}`, text: `${i}` })));
    expect(new Set(sent.map((s) => s.file)).size).toBe(5);
    const names = await fs.readdir(mailDir);
    expect(names.filter((n) => n.endsWith('.eml'))).toHaveLength(5);
    expect(names.filter((n) => n.endsWith('.json'))).toHaveLength(5);
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    for (const n of names) expect(n).toMatch(/-bo@example\.org\.(eml|json)$/);
  });

  it('reports a folder it cannot write to as a MailSendError naming ROSE_DATA_DIR', async () => {
    const blocker = path.join(dir, 'not-a-folder');
    await fs.writeFile(blocker, 'a file where the mail folder should be');
    const mailer = createFileMailer({ dir: path.join(blocker, 'mail'), from: contractFrom });
    const error = await mailer.send({ to: 'ann@example.org', subject: 'Hi', text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailSendError);
    expect((error as MailSendError).message).toContain('Could not write mail to');
    expect((error as MailSendError).hint).toContain('ROSE_DATA_DIR');
  });
});
