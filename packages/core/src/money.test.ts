import { describe, expect, it } from 'vitest';
import { currencyDigits, decimalAmount, formatMoney, isCurrency, parseAmount } from './money.ts';

describe('money', () => {
  it('parses plain decimals to minor units without floats', () => {
    expect(parseAmount('3.50', 'GBP')).toEqual({ ok: true, value: 350 });
    expect(parseAmount('0.07', 'GBP')).toEqual({ ok: true, value: 7 });
    expect(parseAmount('12', 'GBP')).toEqual({ ok: true, value: 1200 });
    expect(parseAmount('4.1', 'EUR')).toEqual({ ok: true, value: 410 });
    expect(parseAmount('1200', 'JPY')).toEqual({ ok: true, value: 1200 });
    // 0.29 * 100 is 28.999999999999996 in floating point.
    expect(parseAmount('0.29', 'GBP')).toEqual({ ok: true, value: 29 });
  });

  it('refuses what it would have to guess', () => {
    expect(parseAmount('3.505', 'GBP')).toEqual({ ok: false, error: 'GBP has 2 decimal places: "3.505" has 3' });
    expect(parseAmount('12.5', 'JPY')).toEqual({ ok: false, error: 'JPY has no decimal places: "12.5"' });
    for (const bad of ['-1', '1,000', '1e3', '', '£3', '3.']) expect(parseAmount(bad, 'GBP').ok).toBe(false);
  });

  it('knows currencies and their digits', () => {
    expect(currencyDigits('GBP')).toBe(2);
    expect(currencyDigits('JPY')).toBe(0);
    expect(isCurrency('EUR')).toBe(true);
    expect(isCurrency('XYZ')).toBe(false);
    expect(isCurrency('gbp')).toBe(false);
  });

  it('writes minor units back as the decimal parseAmount reads', () => {
    expect(decimalAmount({ minor: 350, currency: 'GBP' })).toBe('3.50');
    expect(decimalAmount({ minor: 5, currency: 'EUR' })).toBe('0.05');
    expect(decimalAmount({ minor: 1200, currency: 'JPY' })).toBe('1200');
    for (const text of ['0.01', '12.34', '999999.99']) expect(parseAmount(decimalAmount({ minor: (parseAmount(text, 'GBP') as { value: number }).value, currency: 'GBP' }), 'GBP')).toEqual(parseAmount(text, 'GBP'));
  });

  it('formats in the site locale', () => {
    expect(formatMoney({ minor: 350, currency: 'GBP' }, 'en-GB')).toBe('£3.50');
    expect(formatMoney({ minor: 123450, currency: 'EUR' }, 'de-DE')).toBe('1.234,50\u00a0€');
    expect(formatMoney({ minor: 1200, currency: 'JPY' }, 'en-GB')).toBe('JP¥1,200');
    expect(formatMoney({ minor: 5, currency: 'GBP' }, 'en-GB')).toBe('£0.05');
  });
});
