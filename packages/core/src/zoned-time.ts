import { err, ok, type Result } from './result.ts';

/** Whether `zone` is an IANA time zone this runtime knows (`Europe/London`). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return /\//.test(zone) || zone === 'UTC';
  } catch {
    return false;
  }
}

/** Minutes `zone` is ahead of UTC at `instant`. */
function offsetMinutes(instant: Date, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
}

/**
 * A wall-clock time in a zone ("2026-11-16T08:00" in Europe/London) → the instant. A time
 * that does not exist there (skipped by a daylight-saving change) is refused; one that
 * happens twice (clocks going back) is the first of the two.
 *
 * @example
 * localTimeToInstant('2027-04-01T08:00', 'Europe/London') // ok(2027-04-01T07:00:00.000Z)
 */
export function localTimeToInstant(local: string, zone: string): Result<Date, string> {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) return err(`expected a local date and time like "2026-11-16T08:00", not "${local}"`);
  if (!isTimeZone(zone)) return err(`"${zone}" is not an IANA time zone (like "Europe/London")`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return err(`"${local}" is not a real date and time`);
  // The earlier of the offsets around that wall time gives the first occurrence.
  const candidates = [offsetMinutes(new Date(wall - 86_400_000), zone), offsetMinutes(new Date(wall + 86_400_000), zone)].sort((a, b) => b - a);
  for (const off of candidates) {
    const instant = new Date(wall - off * 60_000);
    if (offsetMinutes(instant, zone) === off) return ok(instant);
  }
  return err(`${local} does not exist in ${zone} (the clocks skip it)`);
}
