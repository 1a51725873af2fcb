import type { Transaction } from 'kysely';
import type { Database } from '@rose/db';

export interface InboundDelivery {
  /** Who sent it: `ghost`, `sumup`, `activitypub`. Lower case letters, digits, `.`, `-`. */
  readonly source: string;
  /** The sender's id for this delivery (or a digest of what identifies it), unique per source. */
  readonly deliveryId: string;
}

const sourcePattern = /^[a-z][a-z0-9.-]{0,63}$/;
/** ActivityPub activity ids are URLs; anything longer than this is not an id. */
const maxDeliveryIdLength = 2048;

/**
 * Records a webhook or inbox delivery; false when this source already delivered this id (a
 * redelivery or replay: do nothing and answer as for the first). Call it inside the
 * transaction that applies the delivery, before applying it: if that transaction rolls back,
 * the delivery is forgotten too, so the sender's retry is handled. Two deliveries racing with
 * the same id get one `true`: the second waits on the first's row, then sees it.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   if (!(await recordInboundDelivery(trx, { source: 'sumup', deliveryId: event.id }))) return 'duplicate';
 *   await markCheckoutPaid(trx, event.id);
 * });
 */
export async function recordInboundDelivery(trx: Transaction<Database>, delivery: InboundDelivery): Promise<boolean> {
  if (!sourcePattern.test(delivery.source)) {
    throw new RangeError(`recordInboundDelivery: source must be a short lower-case name like "ghost", got ${JSON.stringify(delivery.source.slice(0, 80))}`);
  }
  if (delivery.deliveryId.length === 0 || delivery.deliveryId.length > maxDeliveryIdLength) {
    throw new RangeError(`recordInboundDelivery: deliveryId must be 1 to ${maxDeliveryIdLength} characters, got ${delivery.deliveryId.length}`);
  }
  const inserted = await trx
    .insertInto('inbound_deliveries')
    .values({ source: delivery.source, delivery_id: delivery.deliveryId })
    .onConflict((oc) => oc.columns(['source', 'delivery_id']).doNothing())
    .returning('delivery_id')
    .executeTakeFirst();
  return inserted !== undefined;
}
