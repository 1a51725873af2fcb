import { exportJwk, type Context, type Message, type MessageQueue, type MessageQueueEnqueueOptions } from '@fedify/fedify';
import type { FederationData } from './federation.ts';

// Fedify's delivery messages carry the sender's private keys (as JWK) so any worker can sign.
// Ours are outbox jobs, kept in the database after they are done: a private key must not sit
// in every one of them. Messages are queued with the key ids only, and the worker puts the
// keys back (from `ap_keys`, through the key-pairs dispatcher) just before it runs the task.

type KeyRef = { keyId: string; privateKey?: JsonWebKey };
const hasKeys = (message: unknown): message is { keys: KeyRef[] } => Boolean(message && typeof message === 'object' && Array.isArray((message as { keys?: unknown }).keys));

/** The message without private keys (key ids kept). */
export function withoutPrivateKeys<T>(message: T): T {
  if (!hasKeys(message)) return message;
  return { ...message, keys: message.keys.map((k) => ({ keyId: k.keyId })) };
}

/** A queue that stores messages without their private keys. */
export function keylessQueue(queue: MessageQueue): MessageQueue {
  return {
    ...(queue.nativeRetrial !== undefined ? { nativeRetrial: queue.nativeRetrial } : {}),
    enqueue: (message: unknown, options?: MessageQueueEnqueueOptions) => queue.enqueue(withoutPrivateKeys(message), options),
    ...(queue.enqueueMany ? { enqueueMany: (messages: readonly unknown[], options?: MessageQueueEnqueueOptions) => queue.enqueueMany!(messages.map(withoutPrivateKeys), options) } : {}),
    listen: (handler, options) => queue.listen(handler, options),
    ...(queue.getDepth ? { getDepth: () => queue.getDepth!() } : {}),
  };
}

/**
 * Puts back the private keys of a message queued by `keylessQueue`: each key id is one of an
 * actor's current keys (through the key-pairs dispatcher, which remembers them for a minute).
 * A key rotated since the task was queued signs with its successor (same id); a key id that
 * names no actor of ours fails the task.
 */
export async function withPrivateKeys(message: Message, ctx: Context<FederationData>): Promise<Message> {
  if (!hasKeys(message) || message.keys.every((k) => k.privateKey)) return message;
  const keys = await Promise.all(
    message.keys.map(async (k) => {
      if (k.privateKey) return k;
      const parsed = ctx.parseUri(new URL(k.keyId));
      if (parsed?.type !== 'actor') throw new Error(`A queued delivery names a key of no actor of ours: ${k.keyId}`);
      const pair = (await ctx.getActorKeyPairs(parsed.identifier)).find((p) => p.keyId.href === k.keyId);
      if (!pair) throw new Error(`A queued delivery names a key ${parsed.identifier} no longer has: ${k.keyId}`);
      return { keyId: k.keyId, privateKey: await exportJwk(pair.privateKey) };
    }),
  );
  return { ...message, keys } as Message;
}
