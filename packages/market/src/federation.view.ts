import type { Kysely } from 'kysely';
import type { Database } from '@rose/db';

/** What the market's ActivityPub actor publishes: products on offer and order cycles. */
export interface FederatedMarket {
  products: { id: string; slug: string; name: string; description: string; createdAt: Date; producer: { slug: string; name: string } }[];
  cycles: { id: string; slug: string; name: string; opensAt: Date; closesAt: Date; note: string; createdAt: Date }[];
}

/** Products and cycles that are not archived (archived ones are withdrawn). */
export async function listFederatedMarket(db: Kysely<Database>): Promise<FederatedMarket> {
  const products = await db
    .selectFrom('market_products as p')
    .innerJoin('market_producers as r', 'r.id', 'p.producer_id')
    .select(['p.id', 'p.slug', 'p.name', 'p.description', 'p.created_at', 'r.name as producer', 'r.slug as producer_slug'])
    .where('p.archived_at', 'is', null)
    .where('r.archived_at', 'is', null)
    .execute();
  const cycles = await db.selectFrom('market_cycles').select(['id', 'slug', 'name', 'opens_at', 'closes_at', 'note', 'created_at']).where('archived_at', 'is', null).execute();
  return {
    products: products.map((p) => ({ id: p.id, slug: p.slug, name: p.name, description: p.description, createdAt: p.created_at, producer: { slug: p.producer_slug, name: p.producer } })),
    cycles: cycles.map((c) => ({ id: c.id, slug: c.slug, name: c.name, opensAt: c.opens_at, closesAt: c.closes_at, note: c.note, createdAt: c.created_at })),
  };
}
