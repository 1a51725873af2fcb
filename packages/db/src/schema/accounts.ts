import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { Timestamp, CreatedAt, UpdatedAt } from './columns.ts';

export type UserRole = 'member' | 'staff' | 'admin';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  display_name: string;
  role: ColumnType<UserRole, UserRole | undefined, UserRole>;
  password_hash: string | null;
  email_verified_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface SessionsTable {
  /** SHA-256 (hex) of the session token; the token itself only lives in the cookie. */
  id: string;
  user_id: string;
  expires_at: Timestamp;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  user_agent: string | null;
  ip: string | null;
}

export interface EmailTokensTable {
  id: string;
  user_id: string;
  kind: 'verify-email' | 'reset-password' | 'change-email';
  /** For 'change-email': the address the account moves to once the link is opened. */
  new_email: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: CreatedAt;
}

/** The accounts part (`@rose/auth`). */
export interface AccountTables {
  users: UsersTable;
  sessions: SessionsTable;
  email_tokens: EmailTokensTable;
}

export type Session = Selectable<SessionsTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
