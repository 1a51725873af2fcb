import { describe, expect, it } from 'vitest';
import { isTimeZone, localTimeToInstant } from './zoned-time.ts';

describe('localTimeToInstant', () => {
  it('converts wall-clock times in a zone, across daylight saving', () => {
    expect(localTimeToInstant('2026-11-16T08:00', 'Europe/London')).toEqual({ ok: true, value: new Date('2026-11-16T08:00:00Z') });
    expect(localTimeToInstant('2027-04-01T08:00', 'Europe/London')).toEqual({ ok: true, value: new Date('2027-04-01T07:00:00Z') });
    expect(localTimeToInstant('2027-01-10T09:30', 'America/New_York')).toEqual({ ok: true, value: new Date('2027-01-10T14:30:00Z') });
    expect(localTimeToInstant('2027-06-01T12:00:30', 'Asia/Kolkata')).toEqual({ ok: true, value: new Date('2027-06-01T06:30:30Z') });
  });

  it('takes the first of a repeated hour and refuses a skipped one', () => {
    expect(localTimeToInstant('2026-10-25T01:30', 'Europe/London')).toEqual({ ok: true, value: new Date('2026-10-25T00:30:00Z') });
    expect(localTimeToInstant('2027-03-28T01:30', 'Europe/London')).toEqual({ ok: false, error: '2027-03-28T01:30 does not exist in Europe/London (the clocks skip it)' });
  });

  it('refuses bad input with the reason', () => {
    expect(localTimeToInstant('2027-02-30T08:00', 'Europe/London')).toEqual({ ok: false, error: '"2027-02-30T08:00" is not a real date and time' });
    expect(localTimeToInstant('tomorrow', 'Europe/London').ok).toBe(false);
    expect(localTimeToInstant('2027-02-01T08:00', 'Mars/Olympus')).toEqual({ ok: false, error: '"Mars/Olympus" is not an IANA time zone (like "Europe/London")' });
    expect(isTimeZone('Europe/London')).toBe(true);
    expect(isTimeZone('GMT+1')).toBe(false);
  });
});
