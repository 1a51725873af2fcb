import type { ColumnType } from 'kysely';
import type { Timestamp, CreatedAt } from './columns.ts';

export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
}

export interface OidcKeysTable {
  kid: string;
  private_jwk: ColumnType<Record<string, unknown>, string, string>;
  created_at: CreatedAt;
  retired_at: Timestamp | null;
}

export interface OauthClientsTable {
  client_id: string;
  metadata: ColumnType<Record<string, unknown>, string, string>;
  first_party: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

/** The OpenID provider (`@rose/oauth`). */
export interface OAuthTables {
  oidc_payloads: OidcPayloadsTable;
  oidc_keys: OidcKeysTable;
  oauth_clients: OauthClientsTable;
}
