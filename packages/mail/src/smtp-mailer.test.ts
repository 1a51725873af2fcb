import { describe, expect, it } from 'vitest';
import { freePort, startSmtpSink } from '@rose/testing';
import { MailSendError } from './mail-send.error.ts';
import { contractFrom, describeMailerContract } from './mailer.contract.ts';
import { createSmtpMailer } from './smtp-mailer.ts';

describeMailerContract('smtp', async () => {
  const sink = await startSmtpSink();
  return {
    mailer: createSmtpMailer({ url: sink.url, from: contractFrom }),
    // The server has the whole message before it answers 250, so it is there once send() resolves.
    received: async (to) => sink.messages.filter((m) => m.to.includes(to.toLowerCase())).map((m) => m.raw),
    stop: () => sink.stop(),
  };
});

describe('smtp mailer failures', () => {
  it('names the server, with its password masked, when nothing listens there', async () => {
    const port = await freePort();
    const mailer = createSmtpMailer({ url: `smtp://mailer:s3cret-pass@127.0.0.1:${port}`, from: contractFrom });
    const error = await mailer.send({ to: 'ann@example.org', subject: 'Hi', text: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MailSendError);
    const e = error as MailSendError;
    expect(e.message).toContain(`Could not reach the SMTP server at smtp://mailer:****@127.0.0.1:${port}`);
    expect(e.hint).toContain('SMTP_URL');
    expect(e.permanent).toBe(false);
    expect(`${e.message} ${e.hint} ${JSON.stringify(e)} ${e.stack}`).not.toContain('s3cret-pass');
  });

  it('says a refused recipient is permanent, with the server\'s reason', async () => {
    const sink = await startSmtpSink({ refuseRecipient: (address) => (address === 'nobody@example.org' ? '5.1.1 No such mailbox here' : undefined) });
    try {
      const mailer = createSmtpMailer({ url: sink.url, from: contractFrom });
      const error = (await mailer.send({ to: 'nobody@example.org', subject: 'Hi', text: 'x' }).catch((e: unknown) => e)) as MailSendError;
      expect(error).toBeInstanceOf(MailSendError);
      expect(error).toMatchObject({ permanent: true, responseCode: 550, transport: 'smtp' });
      expect(error.message).toContain('refused the sender or the recipient');
      expect(error.message).toContain('No such mailbox here');
      expect(sink.messages).toEqual([]);
    } finally {
      await sink.stop();
    }
  });
});
