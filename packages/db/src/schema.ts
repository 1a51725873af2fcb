// The database as Kysely sees it: one interface per part (schema/<part>.ts), joined here.
import type { AccountTables } from './schema/accounts.ts';
import type { BlogTables } from './schema/blog.ts';
import type { BuildTables } from './schema/builds.ts';
import type { DeployTables } from './schema/deploys.ts';
import type { FederationTables } from './schema/federation.ts';
import type { JobTables } from './schema/jobs.ts';
import type { MarketTables } from './schema/market.ts';
import type { MediaTables } from './schema/media.ts';
import type { OAuthTables } from './schema/oauth.ts';
import type { SiteTables } from './schema/site.ts';

export type * from './schema/columns.ts';
export type * from './schema/accounts.ts';
export type * from './schema/blog.ts';
export type * from './schema/site.ts';
export type * from './schema/jobs.ts';
export type * from './schema/oauth.ts';
export type * from './schema/media.ts';
export type * from './schema/market.ts';
export type * from './schema/deploys.ts';
export type * from './schema/federation.ts';
export type * from './schema/builds.ts';

export interface Database extends AccountTables, BlogTables, SiteTables, JobTables, OAuthTables, MediaTables, MarketTables, DeployTables, FederationTables, BuildTables {}
