import type { ColumnType, Generated } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from './columns.ts';

/** jsonb written as a JSON string, read as the value. */
type Json<T> = ColumnType<T, string | undefined, string>;

export type ApVisibility = 'public' | 'unlisted' | 'followers' | 'direct';
export type ApActorKind = 'part' | 'member';
export type ApNotificationKind = 'follow' | 'follow-request' | 'mention' | 'reply' | 'like' | 'announce';

export interface FedifyKvTable {
  key: string;
  value: Json<unknown>;
  expires_at: Timestamp | null;
}

export interface ApActorsTable {
  handle: string;
  kind: ApActorKind;
  user_id: string | null;
  type: 'Service' | 'Group' | 'Person' | 'Application' | 'Organization';
  display_name: string;
  summary: ColumnType<string, string | undefined, string>;
  manually_approves_followers: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ApKeysTable {
  id: Generated<string>;
  actor: string;
  algorithm: 'RSASSA-PKCS1-v1_5' | 'Ed25519';
  public_jwk: Json<JsonWebKey>;
  private_jwk: Json<JsonWebKey>;
  created_at: CreatedAt;
  retired_at: Timestamp | null;
}

export interface ApRemoteActorsTable {
  uri: string;
  host: string;
  handle: string | null;
  type: string;
  name: string | null;
  summary_html: ColumnType<string, string | undefined, string>;
  url: string | null;
  icon_url: string | null;
  inbox: string | null;
  shared_inbox: string | null;
  followers_url: string | null;
  manually_approves_followers: ColumnType<boolean, boolean | undefined, boolean>;
  moved_to: string | null;
  fetched_at: ColumnType<Date, Date | string | undefined, Date | string>;
  gone_at: Timestamp | null;
}

export interface ApFollowersTable {
  actor: string;
  follower_uri: string;
  follow_id: string;
  status: 'pending' | 'accepted';
  created_at: CreatedAt;
}

export interface ApFollowingTable {
  actor: string;
  target_uri: string;
  follow_id: string;
  status: 'pending' | 'accepted';
  created_at: CreatedAt;
}

/** A hashtag or mention of one of our objects. */
export interface ApTag {
  type: 'Hashtag' | 'Mention';
  name: string;
  href: string;
}

export interface ApObjectsTable {
  id: string;
  actor: string;
  type: string;
  /** What it was made from (`blog:<post id>`), for objects that follow a part's content. */
  source: string | null;
  name: string | null;
  summary: string | null;
  content_html: string;
  url: string | null;
  in_reply_to: string | null;
  visibility: ApVisibility;
  tags: Json<ApTag[]>;
  /** Type-specific fields (an Event's startTime, endTime, location; an Article's image). */
  extra: Json<Record<string, unknown>>;
  /** Hash of what the object says: an Update goes out only when it changes. */
  digest: string;
  published_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: Timestamp | null;
  deleted_at: Timestamp | null;
}

export interface ApPostsTable {
  uri: string;
  actor_uri: string;
  type: string;
  url: string | null;
  name: string | null;
  summary: string | null;
  content_html: string;
  sensitive: ColumnType<boolean, boolean | undefined, boolean>;
  language: string | null;
  in_reply_to: string | null;
  visibility: ApVisibility;
  attachments: Json<unknown[]>;
  emojis: Json<unknown[]>;
  mentions: Json<string[]>;
  hashtags: Json<string[]>;
  published_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: Timestamp | null;
  received_at: CreatedAt;
  hidden_at: Timestamp | null;
}

export interface ApReactionsTable {
  object_uri: string;
  actor_uri: string;
  kind: 'like' | 'announce';
  activity_id: string;
  created_at: CreatedAt;
}

export interface ApInboxTable {
  id: Generated<string>;
  activity_id: string;
  type: string;
  actor_uri: string;
  object_uri: string | null;
  recipient: string | null;
  /** What became of it: `accepted`, or why it changed nothing (`ignored: …`). */
  outcome: string;
  payload: Json<unknown>;
  received_at: CreatedAt;
}

export interface ApNotificationsTable {
  id: Generated<string>;
  actor: string;
  kind: ApNotificationKind;
  from_uri: string;
  object_uri: string | null;
  activity_id: string;
  created_at: CreatedAt;
  read_at: Timestamp | null;
}

export interface ApBlocksTable {
  id: Generated<string>;
  /** The blocking actor; null: the whole co-op (staff). */
  actor: string | null;
  kind: 'actor' | 'domain';
  target: string;
  created_by: string;
  created_at: CreatedAt;
}

/** ActivityPub (see @rose/federation) and Fedify's key–value store. */
export interface FederationTables {
  fedify_kv: FedifyKvTable;
  ap_actors: ApActorsTable;
  ap_keys: ApKeysTable;
  ap_remote_actors: ApRemoteActorsTable;
  ap_followers: ApFollowersTable;
  ap_following: ApFollowingTable;
  ap_objects: ApObjectsTable;
  ap_posts: ApPostsTable;
  ap_reactions: ApReactionsTable;
  ap_inbox: ApInboxTable;
  ap_notifications: ApNotificationsTable;
  ap_blocks: ApBlocksTable;
}
