import type { Actor } from '@fedify/vocab';
import { validatePublicUrl, type DocumentLoader } from '@fedify/vocab-runtime';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '@rose/db';
import { sanitiseRemoteHtml } from './content/sanitise.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface RemoteActor {
  uri: string;
  host: string;
  handle: string | null;
  type: string;
  name: string | null;
  summaryHtml: string;
  url: string | null;
  iconUrl: string | null;
  inbox: string | null;
  sharedInbox: string | null;
  followersUrl: string | null;
  manuallyApprovesFollowers: boolean;
  movedTo: string | null;
}

const httpUrl = (u: URL | string | null | undefined): string | null => {
  if (!u) return null;
  try {
    const url = new URL(String(u));
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
};

export type RemoteActorRow = Awaited<ReturnType<typeof describeActor>>;

/**
 * What a remote actor document says, as we store it (summary sanitised). Its icon may need a
 * fetch, so this runs before any transaction.
 */
export async function describeActor(actor: Actor, now: Date, loaders: { documentLoader: DocumentLoader; contextLoader: DocumentLoader }, opts: { allowPrivateAddress?: boolean } = {}) {
  const uri = httpUrl(actor.id);
  if (!uri) return null;
  // We POST to inboxes (signed): only public addresses, as for every fetch (Fedify checks
  // fetches, not deliveries), or a remote actor could point our deliveries inside our network.
  const deliverable = async (u: URL | null | undefined) => {
    const url = httpUrl(u);
    if (!url || opts.allowPrivateAddress) return url;
    return validatePublicUrl(url).then(
      () => url,
      () => null,
    );
  };
  const noNul = (text: string) => text.replaceAll('\0', '');
  const host = new URL(uri).host;
  // Through the federation's loaders: the same address checks as every other fetch.
  const icon = await actor.getIcon({ ...loaders, suppressError: true }).catch(() => null);
  const iconUrl = icon?.url instanceof URL ? httpUrl(icon.url) : httpUrl(icon?.url?.href ?? null);
  // A handle that could pass for another (spaces, an @) is not kept.
  const username = actor.preferredUsername?.toString();
  const handleOk = username !== undefined && /^[\w.-]{1,64}$/.test(username);
  const row = {
    uri,
    host,
    handle: handleOk ? `${username}@${host}` : null,
    type: actor.constructor.name,
    name: actor.name ? noNul(actor.name.toString()).slice(0, 200) : null,
    // Cut before sanitising: a cut through sanitised HTML could leave a broken tag.
    summary_html: sanitiseRemoteHtml(noNul(actor.summary?.toString() ?? '').slice(0, 20_000)),
    url: httpUrl(actor.url instanceof URL ? actor.url : (actor.url?.href ?? null)),
    icon_url: iconUrl,
    inbox: await deliverable(actor.inboxId),
    shared_inbox: await deliverable(actor.endpoints?.sharedInbox ?? null),
    followers_url: httpUrl(actor.followersId),
    manually_approves_followers: actor.manuallyApprovesFollowers ?? false,
    moved_to: httpUrl(actor.successorId),
    fetched_at: now,
    gone_at: null,
  };
  return row;
}

/** Records (or refreshes) a remote actor as `describeActor` gave it. */
export async function rememberActor(db: Db, row: NonNullable<RemoteActorRow>): Promise<RemoteActor> {
  await db
    .insertInto('ap_remote_actors')
    .values(row)
    .onConflict((oc) => oc.column('uri').doUpdateSet({ ...row }))
    .execute();
  return toRemoteActor(row);
}

function toRemoteActor(row: {
  uri: string;
  host: string;
  handle: string | null;
  type: string;
  name: string | null;
  summary_html: string;
  url: string | null;
  icon_url: string | null;
  inbox: string | null;
  shared_inbox: string | null;
  followers_url: string | null;
  manually_approves_followers: boolean;
  moved_to: string | null;
}): RemoteActor {
  return {
    uri: row.uri,
    host: row.host,
    handle: row.handle,
    type: row.type,
    name: row.name,
    summaryHtml: row.summary_html,
    url: row.url,
    iconUrl: row.icon_url,
    inbox: row.inbox,
    sharedInbox: row.shared_inbox,
    followersUrl: row.followers_url,
    manuallyApprovesFollowers: row.manually_approves_followers,
    movedTo: row.moved_to,
  };
}

const remoteColumns = ['uri', 'host', 'handle', 'type', 'name', 'summary_html', 'url', 'icon_url', 'inbox', 'shared_inbox', 'followers_url', 'manually_approves_followers', 'moved_to'] as const;

export async function findRemoteActor(db: Db, uri: string): Promise<RemoteActor | undefined> {
  const row = await db.selectFrom('ap_remote_actors').select(remoteColumns).where('uri', '=', uri).where('gone_at', 'is', null).executeTakeFirst();
  return row && toRemoteActor(row);
}

export async function findRemoteActors(db: Db, uris: string[]): Promise<Map<string, RemoteActor>> {
  if (uris.length === 0) return new Map();
  const rows = await db.selectFrom('ap_remote_actors').select(remoteColumns).where('uri', 'in', [...new Set(uris)]).execute();
  return new Map(rows.map((r) => [r.uri, toRemoteActor(r)]));
}

/** Whether the co-op (actor null) or the given local actor blocks this remote actor or its whole instance. */
export async function isBlocked(db: Db, remoteUri: string, localActor?: string | null): Promise<boolean> {
  let host: string;
  try {
    host = new URL(remoteUri).hostname.toLowerCase();
  } catch {
    return true;
  }
  // A domain block covers its subdomains too.
  const domains = host.split('.').map((_, i, parts) => parts.slice(i).join('.'));
  const row = await db
    .selectFrom('ap_blocks')
    .select('id')
    .where((eb) => (localActor ? eb.or([eb('actor', 'is', null), eb('actor', '=', localActor)]) : eb('actor', 'is', null)))
    .where((eb) => eb.or([eb.and([eb('kind', '=', 'actor'), eb('target', '=', remoteUri)]), eb.and([eb('kind', '=', 'domain'), eb('target', 'in', domains)])]))
    .executeTakeFirst();
  return row !== undefined;
}
