import { currencyDigits, isCurrency } from '@rose/core';

/** Why a price could not be read. None is guessed around: the page's text is reported instead. */
export type PriceProblem =
  | 'empty'
  | 'no-amount'
  | 'no-currency'
  | 'unknown-currency'
  | 'two-currencies'
  | 'ambiguous-separator'
  | 'malformed-number'
  | 'too-many-decimals'
  | 'negative'
  | 'zero'
  | 'absurd'
  | 'range'
  | 'several-amounts'
  | 'unexpected-text';

export type ParsedPrice =
  | {
      readonly ok: true;
      readonly minor: number;
      readonly currency: string;
      /** The text said "from £3": the lowest price of several (sizes, variants). */
      readonly from?: true;
      /** What the price is per, when the text said (`£3.50/kg`, `£2 per 500 g`): `kg`, `500 g`. */
      readonly unit?: string;
    }
  | { readonly ok: false; readonly reason: PriceProblem; readonly message: string };

export interface ParsePriceOptions {
  /** Larger amounts (in major units) are refused as `absurd`. Default 10 000 000. */
  readonly maxMajor?: number;
  /**
   * The value is data (schema.org `price`, a microdata `content` attribute): `.` is the decimal
   * point, there is no grouping, and extra zero decimals are harmless (`"12.500"` is 12.50). Text
   * that is not such a plain number is then read as shops write prices.
   */
  readonly machine?: boolean;
}

// Currencies whose own convention writes the decimal point as "." (and groups with "," or "'"):
// a lone "," with three digits after it is a thousands separator there. Where the convention is
// a decimal comma, a lone "." with three digits after it is one. The euro is written both ways
// (1.234,50 € in Germany, €1,234.50 in Ireland), so a lone separator with three digits after it
// is ambiguous in euros, as in any currency not listed.
const dotDecimal = new Set(['GBP', 'USD', 'AUD', 'NZD', 'JPY', 'CNY', 'INR', 'HKD', 'SGD', 'CHF', 'KRW', 'MXN', 'ILS', 'THB', 'PHP', 'MYR', 'TWD', 'NGN', 'KES', 'ZAR', 'AED', 'SAR', 'EGP', 'PKR', 'BDT', 'LKR', 'BHD', 'KWD', 'OMR', 'JOD']);
const commaDecimal = new Set(['BRL', 'ARS', 'DKK', 'NOK', 'SEK', 'ISK', 'PLN', 'CZK', 'HUF', 'RON', 'BGN', 'RUB', 'UAH', 'TRY', 'IDR', 'VND', 'CLP', 'COP', 'PEN', 'UYU', 'RSD']);
const dollarCurrencies = new Set(['USD', 'AUD', 'CAD', 'NZD', 'HKD', 'SGD', 'MXN', 'TWD', 'BND', 'FJD', 'JMD', 'TTD', 'BSD', 'BBD', 'BZD', 'XCD', 'NAD', 'LRD', 'SRD', 'GYD', 'KYD', 'BMD', 'SBD']);
const kronaCurrencies = new Set(['SEK', 'NOK', 'DKK', 'ISK']);

/** Symbols and prefixed symbols, longest first so `US$` wins over `$`; `null` = depends on the default currency. */
const symbols: [string, string | null][] = [
  ['US$', 'USD'],
  ['AU$', 'AUD'],
  ['CA$', 'CAD'],
  ['NZ$', 'NZD'],
  ['HK$', 'HKD'],
  ['Mex$', 'MXN'],
  ['R$', 'BRL'],
  ['A$', 'AUD'],
  ['C$', 'CAD'],
  ['S$', 'SGD'],
  ['zł', 'PLN'],
  ['Kč', 'CZK'],
  ['kr.', null],
  ['kr', null],
  ['Fr.', 'CHF'],
  ['£', 'GBP'],
  ['€', 'EUR'],
  ['$', null],
  ['¥', null],
  ['￥', null],
  ['₹', 'INR'],
  ['₩', 'KRW'],
  ['₽', 'RUB'],
  ['₺', 'TRY'],
  ['₪', 'ILS'],
  ['₫', 'VND'],
  ['₦', 'NGN'],
  ['₱', 'PHP'],
  ['฿', 'THB'],
  ['₴', 'UAH'],
];

/** What a symbol that several currencies share means, given the page's default currency. */
function resolveShared(symbol: string, fallback: string | undefined): string | undefined {
  if (symbol === '$') return fallback && dollarCurrencies.has(fallback) ? fallback : 'USD';
  if (symbol === '¥' || symbol === '￥') return fallback === 'CNY' ? 'CNY' : 'JPY';
  if (symbol.startsWith('kr')) return fallback && kronaCurrencies.has(fallback) ? fallback : undefined;
  return undefined;
}

const spaces = /[\s\u00a0\u2007\u2009\u202f]+/g;
const dashes = /[-\u2010-\u2015\u2212]/;
const leadingWords = /^(?:(from|starting at|as low as)|only|just|now|our price|price|sale price|sale)\s*:?\s*/i;
const trailingWords = /\s*(?:each|ea\.?|per item|(?:inc\.?|incl\.?|including) vat|\(inc\.? vat\)|\(incl\.? vat\))\s*$/i;
const trailingUnit = /\s*(?:\/|\bper\s+)\s*((?:\d+(?:[.,]\d+)?\s*)?[a-zA-Zµ]+)\s*$/;

/**
 * Reads a price as shops write it, or says why it cannot, never guessing. Amounts are read as
 * digit strings, never through floating point.
 *
 * Accepted: `£1,234.50`, `1.234,50 €`, `1 234,50 €` (space or no-break space grouping),
 * `12.00 EUR`, `EUR 12.00`, `$3.5`, `¥1200`, `12` (with `defaultCurrency`), `from £3`
 * (`from: true`), `£3.50/kg` and `£2 per 500 g` (`unit`), and JSON-LD values (`12.5` as a number,
 * `"12.50"` as a string).
 *
 * Decisions:
 * - A lone separator followed by exactly three digits (`1,234`, `1.234`) is read by the
 *   currency's own convention (`£1,234` is 1234 pounds, `1.234 kr` 1234 kroner, `¥1,200` 1200 yen);
 *   in euros and currencies written both ways it is `ambiguous-separator`.
 * - A range (`£3–£5`, `3-5 €`, `£3 to £5`) is refused as `range`, not read as its lowest end:
 *   a range stands for variants, whose own prices the page's structured data should give. Only
 *   the shop's own "from £3" is taken as a price (with `from`).
 * - `$` is the default currency when that is a dollar, else USD; `¥` is CNY when the default is,
 *   else JPY; `kr` needs a krona/krone default.
 * - More decimals than the currency has are refused (`£1.500` may mean 1500), except in data
 *   (`machine`, numbers) where `.` is always the decimal point and extra zeros are harmless.
 * - Negative, zero and absurd (above `maxMajor`) amounts are refused.
 *
 * @example
 * parsePrice('1.234,50 €') // { ok: true, minor: 123450, currency: 'EUR' }
 * parsePrice('12', 'GBP')  // { ok: true, minor: 1200, currency: 'GBP' }
 * parsePrice('1,234', 'EUR') // { ok: false, reason: 'ambiguous-separator', message: … }
 */
export function parsePrice(input: string | number, defaultCurrency?: string, options: ParsePriceOptions = {}): ParsedPrice {
  const maxMajor = options.maxMajor ?? 10_000_000;
  const fallback = defaultCurrency?.toUpperCase();
  if (fallback !== undefined && !isCurrency(fallback)) return fail('unknown-currency', `${JSON.stringify(defaultCurrency)} is not an ISO 4217 currency code`);
  if (typeof input === 'number') return parseNumber(input, fallback, maxMajor);
  if (options.machine && /^\s*\d+(?:\.\d+)?\s*$/.test(input)) {
    const [whole, fraction = ''] = input.trim().split('.') as [string, string?];
    if (!fallback) return fail('no-currency', `${input.trim()} names no currency, and no default currency was given`);
    return toMoney(whole, fraction, fallback, input.trim(), maxMajor, {});
  }

  const shown = JSON.stringify(input.trim());
  let text = input.replace(spaces, ' ').trim();
  if (!text) return fail('empty', 'the price is empty');

  let from = false;
  let unit: string | undefined;
  for (let m = leadingWords.exec(text); m && m[0]; m = leadingWords.exec(text)) {
    if (m[1]) from = true;
    text = text.slice(m[0].length);
  }
  text = text.replace(trailingWords, '');
  const unitMatch = trailingUnit.exec(text);
  if (unitMatch?.[1] && /[a-zA-Zµ]/.test(unitMatch[1])) {
    unit = unitMatch[1].replace(/\s+/g, ' ').trim();
    text = text.slice(0, unitMatch.index);
  }

  // Take the currency marks out, leaving a gap so "12EUR" does not join into something else.
  const found: { code: string | undefined; mark: string }[] = [];
  text = text.replace(/(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])/g, (code) => {
    if (!isCurrency(code)) return code;
    found.push({ code, mark: code });
    return ' ';
  });
  for (const [symbol, code] of symbols) {
    const pattern = new RegExp(`${/^[A-Za-z]/.test(symbol) ? '(?<![A-Za-z])' : ''}${escapeRegExp(symbol)}${/[A-Za-z.]$/.test(symbol) ? '(?![A-Za-z])' : ''}`, 'g');
    text = text.replace(pattern, () => {
      found.push({ code: code ?? resolveShared(symbol, fallback), mark: symbol });
      return ' ';
    });
  }
  const unresolved = found.find((f) => f.code === undefined);
  if (unresolved) return fail('unknown-currency', `${shown}: "${unresolved.mark}" could mean several currencies; set the supplier's currency to one of SEK, NOK, DKK, ISK`);
  const codes = [...new Set(found.map((f) => f.code!))];
  if (codes.length > 1) return fail('two-currencies', `${shown} names two currencies (${codes.join(', ')})`);
  const currency = codes[0] ?? fallback;

  // A number is digits with separators inside; a space only counts as one between digits.
  const numbers = [...text.matchAll(/\d(?:[\d.,']|\s(?=\d))*/g)].map((m) => ({ raw: m[0].replace(/[.,']$/, ''), index: m.index }));
  if (numbers.length === 0) return fail('no-amount', `${shown} has no amount`);
  if (numbers.length > 1) {
    const between = text.slice(numbers[0]!.index + numbers[0]!.raw.length, numbers[1]!.index);
    if (numbers.length === 2 && (dashes.test(between) || /\bto\b/i.test(between))) return fail('range', `${shown} is a range; variant prices are not guessed from it`);
    return fail('several-amounts', `${shown} has ${numbers.length} amounts`);
  }
  const number = numbers[0]!;
  const before = text.slice(0, number.index).trim();
  const after = text.slice(number.index + number.raw.length).trim();
  if (dashes.test(before.slice(-1)) || (before.endsWith('(') && after.startsWith(')'))) return fail('negative', `${shown} is negative`);
  const rest = `${before} ${after}`.replace(/[:()]/g, '').trim();
  if (rest) return fail('unexpected-text', `${shown} has text besides the price ("${rest}")`);
  if (!currency) return fail('no-currency', `${shown} names no currency, and no default currency was given`);

  const amount = readAmount(number.raw, currency, shown);
  if (!amount.ok) return amount;
  return toMoney(amount.whole, amount.fraction, currency, shown, maxMajor, { from, unit });
}

function parseNumber(value: number, currency: string | undefined, maxMajor: number): ParsedPrice {
  const shown = String(value);
  if (!Number.isFinite(value)) return fail('malformed-number', `${shown} is not an amount`);
  if (value < 0) return fail('negative', `${shown} is negative`);
  if (!currency) return fail('no-currency', `${shown} names no currency, and no default currency was given`);
  // String(12.5) is "12.5": the shortest text that reads back as the same double, which is what
  // the page wrote. Exponent forms (1e-7, 1e+21) are not prices.
  const m = /^(\d+)(?:\.(\d+))?$/.exec(shown);
  if (!m) return fail('malformed-number', `${shown} is not a plain decimal amount`);
  return toMoney(m[1]!, m[2] ?? '', currency, shown, maxMajor, {});
}

type Amount = { ok: true; whole: string; fraction: string } | { ok: false; reason: PriceProblem; message: string };

/** Splits "1.234,50" into whole and fraction digits by the rules in `parsePrice`. */
function readAmount(raw: string, currency: string, shown: string): Amount {
  const digits = currencyDigits(currency);
  const dots = raw.split('.').length - 1;
  const commas = raw.split(',').length - 1;
  let decimal: '.' | ',' | undefined;
  if (dots && commas) {
    decimal = raw.lastIndexOf('.') > raw.lastIndexOf(',') ? '.' : ',';
    if ((decimal === '.' ? dots : commas) > 1) return fail('malformed-number', `${shown}: "${raw}" has more than one decimal point`);
  } else if (dots + commas === 1) {
    const sep = dots ? '.' : ',';
    const tail = raw.length - raw.indexOf(sep) - 1;
    if (tail !== 3) decimal = sep;
    // Nothing comes after the point in yen or won: ¥1.200 can only be grouping.
    else if (digits === 0) decimal = undefined;
    else {
      const convention = dotDecimal.has(currency) ? '.' : commaDecimal.has(currency) ? ',' : undefined;
      if (convention === undefined) {
        return fail('ambiguous-separator', `${shown}: "${raw}" could be ${raw.replace(sep, '')} or ${raw.replace(sep, '.')}, and ${currency} is written both ways; the page should give the price another way`);
      }
      decimal = convention === sep ? sep : undefined;
    }
  }
  const [wholeText, fraction = ''] = decimal ? (raw.split(decimal) as [string, string?]) : [raw];
  if (/[.,' ]/.test(fraction)) return fail('malformed-number', `${shown}: "${raw}" has separators after the decimal point`);
  const groups = wholeText.split(/[.,' ]/);
  const indian = currency === 'INR' && groups.length > 2 && groups.slice(1, -1).every((g) => g.length === 2) && groups.at(-1)!.length === 3;
  const western = groups.slice(1).every((g) => g.length === 3);
  if (groups.length > 1 && (!(western || indian) || groups[0]!.length > 3 || groups[0]!.length === 0)) {
    return fail('malformed-number', `${shown}: "${raw}" is not grouped in threes`);
  }
  const whole = groups.join('');
  if (whole.length > 1 && whole.startsWith('0')) return fail('malformed-number', `${shown}: "${raw}" starts with a zero`);
  if (fraction.length > digits) return fail('too-many-decimals', `${shown} has ${fraction.length} decimals; ${currency} has ${digits}`);
  return { ok: true, whole, fraction };
}

function toMoney(whole: string, fraction: string, currency: string, shown: string, maxMajor: number, extra: { from?: boolean; unit?: string | undefined }): ParsedPrice {
  const digits = currencyDigits(currency);
  if (fraction.length > digits && /[1-9]/.test(fraction.slice(digits))) return fail('too-many-decimals', `${shown} has ${fraction.length} decimals; ${currency} has ${digits}`);
  const wholeDigits = whole.replace(/^0+(?=\d)/, '');
  if (wholeDigits.length > String(maxMajor).length || Number(wholeDigits) > maxMajor) return fail('absurd', `${shown} is more than ${maxMajor} ${currency}`);
  const minor = Number(`${wholeDigits}${fraction.slice(0, digits).padEnd(digits, '0')}`);
  if (minor === 0) return fail('zero', `${shown} is zero`);
  return { ok: true, minor, currency, ...(extra.from ? { from: true as const } : {}), ...(extra.unit ? { unit: extra.unit } : {}) };
}

function fail(reason: PriceProblem, message: string): { ok: false; reason: PriceProblem; message: string } {
  return { ok: false, reason, message };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
