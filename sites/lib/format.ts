// Intl.DateTimeFormat construction is slow (~0.2 ms); with thousands of pages it dominated
// the build's CPU profile, so formatters are made once per locale and time zone.
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(locale: string, timeZone: string): Intl.DateTimeFormat | null {
  const key = `${locale}|${timeZone}`;
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone });
    } catch {
      formatter = null; // unknown locale or zone: fall back to ISO dates
    }
    formatters.set(key, formatter);
  }
  return formatter;
}

export function formatDate(date: Date, locale: string, timeZone: string): string {
  return formatterFor(locale, timeZone)?.format(date) ?? date.toISOString().slice(0, 10);
}
