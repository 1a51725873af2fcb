import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFedifyPeer, type FedifyPeer } from './fedify-peer.ts';

/** Polls `check` until it holds; no fixed sleeps. */
async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// Two independent peers talk to each other: each side verifies the other's signatures, so this
// exercises the same paths a test against our server does.
describe('Fedify peer', () => {
  let a: FedifyPeer;
  let b: FedifyPeer;

  beforeAll(async () => {
    a = await startFedifyPeer();
    b = await startFedifyPeer({ actors: ['alice', 'bob'], firstKnock: 'draft-cavage-http-signatures-12' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('serves its actor with both keys and answers WebFinger for it', async () => {
    const actor = (await (await fetch(a.actorId(), { headers: { accept: 'application/activity+json' } })).json()) as Record<string, any>;
    expect(actor).toMatchObject({ id: a.actorId(), type: 'Person', inbox: a.inboxOf(), endpoints: { sharedInbox: a.sharedInbox } });
    expect(actor.publicKey.id).toBe(`${a.actorId()}#main-key`);
    // Fedify publishes a Multikey for each pair (RSA and Ed25519); the Ed25519 one signs integrity proofs.
    expect(actor.assertionMethod.map((k: { id: string }) => k.id)).toEqual([`${a.actorId()}#multikey-1`, `${a.actorId()}#multikey-2`]);
    const host = new URL(a.origin).host;
    const finger = (await (await fetch(`${a.origin}/.well-known/webfinger?resource=acct:alice@${host}`)).json()) as { links: { rel: string; href?: string }[] };
    expect(finger.links.find((l) => l.rel === 'self')?.href).toBe(a.actorId());
  });

  it('follows, posts, likes, updates, deletes and unfollows across two peers', async () => {
    const followId = await a.follow(b.actorId());
    await until(() => a.isFollowing(b.actorId()), 'the Accept from b');
    expect(b.followers()).toEqual([a.actorId()]);
    const accept = await a.waitFor((x) => x.type === 'Accept', { what: 'Accept' });
    expect(accept.actor).toBe(b.actorId());
    // b starts with draft-cavage; a with RFC 9421: each delivery says which one it carried.
    expect(accept.httpSignature).toBe('draft-cavage');
    expect((await b.waitFor((x) => x.type === 'Follow')).httpSignature).toBe('rfc9421');

    const noteId = await b.post({ content: '<p>Hello from b</p>', summary: 'cw', sensitive: true });
    const create = await a.waitFor((x) => x.type === 'Create', { what: 'Create from b' });
    expect(create.object).toMatchObject({ id: noteId, type: 'Note', content: '<p>Hello from b</p>', summary: 'cw', sensitive: true });
    const served = (await (await fetch(noteId, { headers: { accept: 'application/activity+json' } })).json()) as Record<string, unknown>;
    expect(served).toMatchObject({ id: noteId, attributedTo: b.actorId() });

    const likeId = await a.like(noteId, b.actorId());
    const like = await b.waitFor((x) => x.type === 'Like', { what: 'Like from a' });
    expect(like).toMatchObject({ id: likeId, actor: a.actorId(), object: noteId });

    await b.update(noteId, '<p>Edited</p>');
    expect((await a.waitFor((x) => x.type === 'Update')).object).toMatchObject({ id: noteId, content: '<p>Edited</p>' });
    await b.remove(noteId);
    expect((await a.waitFor((x) => x.type === 'Delete')).object).toMatchObject({ id: noteId, type: 'Tombstone' });
    expect((await fetch(noteId, { headers: { accept: 'application/activity+json' } })).status).toBe(404);

    await a.unfollow(b.actorId());
    const undo = await b.waitFor((x) => x.type === 'Undo', { what: 'Undo(Follow)' });
    expect(undo.object).toMatchObject({ id: followId, type: 'Follow' });
    expect(b.followers()).toEqual([]);
    expect(a.isFollowing(b.actorId())).toBe(false);
  });

  it('sends a mention to the mentioned actor and an Announce to the owner', async () => {
    const noteId = await a.post({ content: 'hi @bob', mention: { id: b.actorId('bob'), name: '@bob' }, to: 'followers' });
    const create = await b.waitFor((x) => x.type === 'Create' && (x.object as { id?: string }).id === noteId, { what: 'the mention' });
    expect(create.json.to).toEqual([`${a.actorId()}/followers`, b.actorId('bob')]);
    expect(create.object).toMatchObject({ tag: { type: 'Mention', href: b.actorId('bob') } });
    const announceId = await b.announce(noteId, a.actorId(), { as: 'bob' });
    expect(await a.waitFor((x) => x.id === announceId, { what: 'Announce' })).toMatchObject({ type: 'Announce', object: noteId });
  });

  it('accepts a raw delivery signed with either spec and refuses unsigned or tampered ones', async () => {
    const raw = (kind: string) => ({ '@context': 'https://www.w3.org/ns/activitystreams', id: `${a.actorId()}/raw/${kind}`, type: 'Like', actor: a.actorId(), object: `${b.origin}/x` });
    for (const sign of ['rfc9421', 'draft-cavage'] as const) {
      expect((await a.sendRaw(b.inboxOf(), raw(sign), { sign })).status).toBe(202);
      expect((await b.waitFor((x) => x.id === raw(sign).id)).httpSignature).toBe(sign);
    }
    const before = b.received.length;
    expect((await a.sendRaw(b.inboxOf(), raw('unsigned'), { sign: 'none' })).status).toBe(401);
    expect((await a.sendRaw(b.sharedInbox, raw('tampered'), { tamperBody: true })).status).toBe(401);
    expect((await a.sendRaw(b.inboxOf(), raw('tampered-cavage'), { sign: 'draft-cavage', tamperBody: true })).status).toBe(401);
    expect((await a.sendRaw(b.inboxOf(), raw('stale'), { date: new Date(Date.now() - 3 * 3600_000) })).status).toBe(401);
    expect(b.received.length).toBe(before);
  });
});
