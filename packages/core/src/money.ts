import { err, ok, type Result } from './result.ts';

/** An amount in integer minor units (pence for GBP, yen for JPY) of an ISO 4217 currency. */
export interface Money {
  minor: number;
  currency: string;
}

const digitsCache = new Map<string, number>();

/** Whether `code` is an ISO 4217 currency code Intl knows (`GBP`, `EUR`, `JPY`). */
export function isCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  try {
    return Intl.supportedValuesOf('currency').includes(code);
  } catch {
    return false;
  }
}

/**
 * How many minor-unit digits a currency has: 2 for GBP and EUR, 0 for JPY, 3 for BHD.
 *
 * @example
 * currencyDigits('JPY') // 0
 */
export function currencyDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    digitsCache.set(currency, digits);
  }
  return digits;
}

/**
 * A plain decimal amount as written in content and forms ("3.50", "12", "0.5") → integer
 * minor units, digit by digit (never through a float). More decimals than the currency has,
 * signs, thousands separators and exponents are refused, not rounded.
 *
 * @example
 * parseAmount('3.50', 'GBP') // { ok: true, value: 350 }
 * parseAmount('3.505', 'GBP') // { ok: false, error: 'GBP has 2 decimal places: "3.505" has 3' }
 */
export function parseAmount(text: string, currency: string): Result<number, string> {
  const m = /^(\d{1,9})(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return err(`expected an amount like "3.50", not "${text}"`);
  const digits = currencyDigits(currency);
  const fraction = m[2] ?? '';
  if (fraction.length > digits) return err(digits === 0 ? `${currency} has no decimal places: "${text}"` : `${currency} has ${digits} decimal places: "${text}" has ${fraction.length}`);
  return ok(Number(m[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0'));
}

/**
 * Minor units as a plain decimal string, the inverse of `parseAmount`: what forms and
 * schema.org prices want (`decimalAmount({minor: 350, currency: 'GBP'})` → `"3.50"`).
 */
export function decimalAmount(money: Money): string {
  const digits = currencyDigits(money.currency);
  const abs = String(Math.abs(money.minor)).padStart(digits + 1, '0');
  return `${money.minor < 0 ? '-' : ''}${digits === 0 ? abs : `${abs.slice(0, -digits)}.${abs.slice(-digits)}`}`;
}

/**
 * An amount for people to read, in the site's locale: `formatMoney({minor: 350, currency: 'GBP'}, 'en-GB')` → `£3.50`.
 * The decimal goes to Intl as a string, so no float rounding is involved.
 */
export function formatMoney(money: Money, locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency: money.currency }).format(decimalAmount(money) as unknown as number);
}
