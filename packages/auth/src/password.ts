import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCallback(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** scrypt with N=2^16, r=8, p=1 (64 MiB, ~0.1-0.3 s): above OWASP's minimum for scrypt. */
export interface PasswordCost {
  N: number;
  r: number;
  p: number;
}
export const defaultPasswordCost: PasswordCost = { N: 2 ** 16, r: 8, p: 1 };
const KEY_LENGTH = 32;

/** `scrypt$N$r$p$<salt b64>$<hash b64>`: the parameters travel with the hash, so they can rise later. */
export async function hashPassword(password: string, cost: PasswordCost = defaultPasswordCost): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Constant-time check; false for a malformed stored hash rather than an exception. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!N || !r || !p || expected.length !== KEY_LENGTH) return false;
  const key = await scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r });
  return timingSafeEqual(key, expected);
}

let common: Set<string> | undefined;
/**
 * The 49k most common passwords from leaked-password corpora, as ranked by zxcvbn-ts
 * (`@zxcvbn-ts/language-common`, MIT, kept up to date by its authors), lowercased.
 */
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

/**
 * True for a password on the common-password list, ignoring case and what people usually
 * bolt on to pass a length rule: trailing digits and symbols (`Password123!`, `sunshine2024`).
 */
export function isCommonPassword(password: string): boolean {
  const lower = password.normalize('NFKC').toLowerCase();
  const list = commonPasswords();
  if (list.has(lower)) return true;
  const stem = lower.replace(/[^\p{L}]+$/u, '');
  return stem.length >= 4 && stem !== lower && list.has(stem);
}

/** Why a password is refused, in words for the person choosing it; undefined when fine. */
export function passwordProblem(password: string, who: { email: string; name?: string }): string | undefined {
  if (password.length < 10) return 'Use at least 10 characters.';
  if (password.length > 200) return 'Use at most 200 characters.';
  if (new Set(password).size < 4) return 'Use more varied characters.';
  const lower = password.normalize('NFKC').toLowerCase();
  const email = who.email.trim().toLowerCase();
  const local = email.split('@')[0] ?? '';
  if (lower.includes(email) || (local.length >= 4 && lower.includes(local))) return 'Do not use your email address in the password.';
  // The name itself, give or take spaces, punctuation and a number (`Ann Baker 1984`).
  const bare = (x: string) => x.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  const name = bare(who.name ?? '');
  const plain = bare(password);
  if (name.length >= 3 && (plain === name || plain.replace(/\p{N}+$/u, '') === name || plain.replace(/^\p{N}+/u, '') === name)) return 'Do not use your name in the password.';
  if (isCommonPassword(password)) return 'That password is one of the most common ones, which attackers try first. Choose something less guessable, e.g. a few unrelated words.';
  return undefined;
}
