import { describe, expect, it } from 'vitest';
import { parsePrice } from './price.ts';

const ok = (minor: number, currency: string, extra: object = {}) => ({ ok: true, minor, currency, ...extra });

describe('parsePrice reads the forms shops write', () => {
  it.each([
    ['£1,234.50', undefined, ok(123450, 'GBP')],
    ['£12.50', undefined, ok(1250, 'GBP')],
    ['£3', undefined, ok(300, 'GBP')],
    ['£0.99', undefined, ok(99, 'GBP')],
    ['1.234,50 €', undefined, ok(123450, 'EUR')],
    ['1 234,50 €', undefined, ok(123450, 'EUR')],
    ['1\u00a0234,50\u00a0€', undefined, ok(123450, 'EUR')],
    ['1\u202f234,50 €', undefined, ok(123450, 'EUR')],
    ['€1,234.50', undefined, ok(123450, 'EUR')],
    ['12,5 €', undefined, ok(1250, 'EUR')],
    ['12', 'GBP', ok(1200, 'GBP')],
    ['12.00 EUR', undefined, ok(1200, 'EUR')],
    ['EUR 12.00', undefined, ok(1200, 'EUR')],
    ['EUR12', undefined, ok(1200, 'EUR')],
    ['12.00 GBP', 'EUR', ok(1200, 'GBP')],
    ['£12.00 GBP', undefined, ok(1200, 'GBP')],
    ['from £3', undefined, ok(300, 'GBP', { from: true })],
    ['From: £3.20', undefined, ok(320, 'GBP', { from: true })],
    ['Price: £4.10', undefined, ok(410, 'GBP')],
    ['$3.5', undefined, ok(350, 'USD')],
    ['$3.5', 'CAD', ok(350, 'CAD')],
    ['$3.5', 'GBP', ok(350, 'USD')],
    ['US$3.50', 'CAD', ok(350, 'USD')],
    ['A$10', undefined, ok(1000, 'AUD')],
    ['¥1200', undefined, ok(1200, 'JPY')],
    ['¥1,200', undefined, ok(1200, 'JPY')],
    ['¥1.200', undefined, ok(1200, 'JPY')],
    ['¥12', 'CNY', ok(1200, 'CNY')],
    ['₹1,23,456.50', undefined, ok(12345650, 'INR')],
    ['CHF 1\'234.50', undefined, ok(123450, 'CHF')],
    ['1.234 kr', 'DKK', ok(123400, 'DKK')],
    ['12,50 zł', undefined, ok(1250, 'PLN')],
    ['BHD 1.234', undefined, ok(1234, 'BHD')],
    ['£3.50/kg', undefined, ok(350, 'GBP', { unit: 'kg' })],
    ['£2 per 500 g', undefined, ok(200, 'GBP', { unit: '500 g' })],
    ['£2.40 each', undefined, ok(240, 'GBP')],
    ['£2.40 inc. VAT', undefined, ok(240, 'GBP')],
    ['  £ 7.25  ', undefined, ok(725, 'GBP')],
  ] as const)('%j (default %s)', (text, currency, expected) => {
    expect(parsePrice(text, currency)).toEqual(expected);
  });

  it('reads JSON-LD values: numbers and plain decimal strings, "." always the point', () => {
    expect(parsePrice(12.5, 'GBP')).toEqual(ok(1250, 'GBP'));
    expect(parsePrice(12, 'EUR')).toEqual(ok(1200, 'EUR'));
    expect(parsePrice(0.1, 'GBP')).toEqual(ok(10, 'GBP'));
    expect(parsePrice('12.50', 'GBP', { machine: true })).toEqual(ok(1250, 'GBP'));
    expect(parsePrice('12.500', 'EUR', { machine: true })).toEqual(ok(1250, 'EUR'));
    expect(parsePrice('1234', 'JPY', { machine: true })).toEqual(ok(1234, 'JPY'));
    // Data that is not a plain number is read as text.
    expect(parsePrice('£12.50', 'GBP', { machine: true })).toEqual(ok(1250, 'GBP'));
  });

  it('never goes through floating point: amounts that floats get wrong come out exact', () => {
    expect(parsePrice('£1,234,567.89')).toEqual(ok(123456789, 'GBP'));
    expect(parsePrice('0.29', 'GBP')).toEqual(ok(29, 'GBP'));
    expect(parsePrice(1.15, 'GBP')).toEqual(ok(115, 'GBP'));
    expect(parsePrice(4.35, 'GBP')).toEqual(ok(435, 'GBP'));
  });
});

describe('parsePrice refuses what it would have to guess', () => {
  it.each([
    ['', undefined, 'empty'],
    ['   ', 'GBP', 'empty'],
    ['POA', 'GBP', 'no-amount'],
    ['£', undefined, 'no-amount'],
    ['12.50', undefined, 'no-currency'],
    ['1,234', 'EUR', 'ambiguous-separator'],
    ['1.234 €', undefined, 'ambiguous-separator'],
    ['1,234', 'CAD', 'ambiguous-separator'],
    ['£1.500', undefined, 'too-many-decimals'],
    ['£12.505', undefined, 'too-many-decimals'],
    ['¥1200.50', undefined, 'too-many-decimals'],
    ['£12 EUR', undefined, 'two-currencies'],
    ['£3–£5', undefined, 'range'],
    ['£3 - £5', undefined, 'range'],
    ['3-5 €', undefined, 'range'],
    ['£3 to £5', undefined, 'range'],
    ['was £5 now £4', undefined, 'several-amounts'],
    ['-£3.00', undefined, 'negative'],
    ['£-3.00', undefined, 'negative'],
    ['−3,00 €', undefined, 'negative'],
    ['(£3.00)', undefined, 'negative'],
    ['£0.00', undefined, 'zero'],
    ['£99,999,999', undefined, 'absurd'],
    ['£1,23.4', undefined, 'malformed-number'],
    ['1.234.5 €', undefined, 'malformed-number'],
    ['£1.234.567,8.9', undefined, 'malformed-number'],
    ['£0800123456', undefined, 'malformed-number'],
    ['12 kr', 'GBP', 'unknown-currency'],
    ['12', 'XYZ', 'unknown-currency'],
    ['Call 0800 for a price', 'GBP', 'unexpected-text'],
    ['12 apples', 'GBP', 'unexpected-text'],
  ] as const)('%j (default %s) → %s', (text, currency, reason) => {
    expect(parsePrice(text, currency)).toMatchObject({ ok: false, reason });
  });

  it('refuses JSON-LD numbers that are not plain amounts', () => {
    expect(parsePrice(-1, 'GBP')).toMatchObject({ ok: false, reason: 'negative' });
    expect(parsePrice(Number.NaN, 'GBP')).toMatchObject({ ok: false, reason: 'malformed-number' });
    expect(parsePrice(1e21, 'GBP')).toMatchObject({ ok: false, reason: 'malformed-number' });
    expect(parsePrice(0, 'GBP')).toMatchObject({ ok: false, reason: 'zero' });
    expect(parsePrice(12.5)).toMatchObject({ ok: false, reason: 'no-currency' });
  });

  it('says why in words a member of staff can act on', () => {
    const messages = ['1,234', '£3–£5', '£12 EUR', '£12.505', '12 kr'].map((t) => {
      const r = parsePrice(t, t === '12 kr' ? 'GBP' : 'EUR');
      return r.ok ? 'ok' : r.message;
    });
    expect(messages).toMatchInlineSnapshot(`
      [
        ""1,234": "1,234" could be 1234 or 1.234, and EUR is written both ways; the page should give the price another way",
        ""£3–£5" is a range; variant prices are not guessed from it",
        ""£12 EUR" names two currencies (EUR, GBP)",
        ""£12.505" has 3 decimals; GBP has 2",
        ""12 kr": "kr" could mean several currencies; set the supplier's currency to one of SEK, NOK, DKK, ISK",
      ]
    `);
  });
});
