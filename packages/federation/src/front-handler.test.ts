import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createFederationFrontHandler, inboxAdmission, inboxDeliveryProblem } from './front-handler.ts';

describe('inbox deliveries before Fedify sees them', () => {
  const actor = 'https://a.example/users/ann';
  it('refuses what is not an activity, ids that are not URLs, and objects of another server', () => {
    expect(inboxDeliveryProblem([])).toMatchObject({ status: 400 });
    expect(inboxDeliveryProblem({ actor })).toMatchObject({ status: 400, message: 'The activity has no type.' });
    expect(inboxDeliveryProblem({ type: 'Like', actor: 'not a url' })).toMatchObject({ status: 400 });
    expect(inboxDeliveryProblem({ type: 'Like', actor, id: `https://a.example/${'x'.repeat(3000)}` })).toMatchObject({ status: 400 });
    expect(inboxDeliveryProblem({ type: 'Like', actor, id: 'https://b.example/likes/1' })).toMatchObject({ status: 403 });
    for (const type of ['Create', 'as:Update', 'https://www.w3.org/ns/activitystreams#Delete', ['Undo']]) {
      expect(inboxDeliveryProblem({ type, actor, object: 'https://b.example/notes/1' }), String(type)).toMatchObject({ status: 403 });
      expect(inboxDeliveryProblem({ type, actor, object: { id: 'https://b.example/notes/1' } }), String(type)).toMatchObject({ status: 403 });
      expect(inboxDeliveryProblem({ type, actor, object: { id: 'https://a.example/notes/1' } }), String(type)).toBeUndefined();
    }
    // Others may name anyone's objects: a Like or an Announce of another server's post.
    expect(inboxDeliveryProblem({ type: 'Announce', actor, object: 'https://b.example/notes/1' })).toBeUndefined();
  });
});

describe('inbox admission', () => {
  it('lets a sender in up to its limit per minute, then asks it to wait; a broken counter lets it in', async () => {
    const counts = new Map<string, number>();
    const counter = { increment: async (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1).get(key)! };
    const admit = inboxAdmission(counter, { perMinute: 2, sender: (req) => req.headers['x-test-sender'] as string | undefined });
    const from = (sender?: string) => ({ headers: sender ? { 'x-test-sender': sender } : {} }) as http.IncomingMessage;
    expect([await admit(from('1.2.3.4')), await admit(from('1.2.3.4')), await admit(from('1.2.3.4')), await admit(from('5.6.7.8')), await admit(from())]).toEqual([undefined, undefined, 60, undefined, undefined]);
    const errors: unknown[] = [];
    const broken = inboxAdmission({ increment: async () => Promise.reject(new Error('down')) }, { perMinute: 1, sender: () => 'x', onError: (e) => errors.push(e) });
    expect(await broken(from('x'))).toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('answers 429 with Retry-After before reading the body or reaching Fedify', async () => {
    let reached = false;
    const handle = createFederationFrontHandler(
      async () => {
        reached = true;
        throw new Error('not reached');
      },
      { origin: () => 'http://127.0.0.1', admit: async () => 30 },
    );
    const server = http.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const response = await fetch(`http://127.0.0.1:${port}/ap/inbox`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/activity+json' } });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('30');
      expect(reached).toBe(false);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
