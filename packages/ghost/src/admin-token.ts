import { createHmac } from 'node:crypto';
import { ConfigError } from '@rose/core';

/** An Admin API key split into the id Ghost looks up (`kid`) and the signing secret. */
export interface GhostAdminKey {
  readonly id: string;
  readonly secret: Buffer;
}

const keyHint = 'Copy the Admin API key from Ghost Admin → Settings → Integrations → your custom integration; it looks like <24 hex characters>:<64 hex characters>.';

/**
 * Parses `"<id>:<hex secret>"` as Ghost Admin shows it. Throws a ConfigError that says what is
 * wrong with the value without ever repeating it.
 */
export function parseAdminKey(raw: string): GhostAdminKey {
  const value = raw.trim();
  if (value === '') throw new ConfigError('GHOST_ADMIN_KEY is empty.', keyHint);
  const colon = value.indexOf(':');
  if (colon === -1) {
    if (/^[0-9a-f]{26}$/i.test(value)) {
      throw new ConfigError('GHOST_ADMIN_KEY looks like a Content API key (26 hex characters, no ":"); the Admin API needs the Admin API key.', keyHint);
    }
    throw new ConfigError(`GHOST_ADMIN_KEY must be "<id>:<secret>", but it has no ":" (${value.length} characters).`, keyHint);
  }
  const id = value.slice(0, colon);
  const secretHex = value.slice(colon + 1);
  if (!/^[0-9a-f]{24}$/i.test(id)) {
    throw new ConfigError(`GHOST_ADMIN_KEY: the part before ":" must be 24 hex characters (Ghost's key id), got ${describeShape(id)}.`, keyHint);
  }
  if (!/^(?:[0-9a-f]{2}){16,}$/i.test(secretHex)) {
    throw new ConfigError(`GHOST_ADMIN_KEY: the part after ":" must be the hex secret (64 hex characters), got ${describeShape(secretHex)}.`, keyHint);
  }
  return { id, secret: Buffer.from(secretHex, 'hex') };
}

/** Length and whether it is hex: enough to spot a copy-paste slip, nothing to leak. */
function describeShape(part: string): string {
  const hex = /^[0-9a-f]*$/i.test(part);
  return `${part.length} character${part.length === 1 ? '' : 's'}${part.length > 0 && !hex ? ', not all hex' : ''}`;
}

/**
 * A short-lived (5 minute) HS256 token for `Authorization: Ghost <token>`, as Ghost's Admin
 * API expects from integrations: header `{alg, typ, kid}`, payload `{iat, exp, aud: '/admin/'}`.
 */
export function signAdminToken(key: GhostAdminKey, now: Date): string {
  const iat = Math.floor(now.getTime() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: key.id }));
  const payload = base64url(JSON.stringify({ iat, exp: iat + 300, aud: '/admin/' }));
  const signature = createHmac('sha256', key.secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
