// The only way static market pages reach market data: through the build's snapshot.
import { getSiteData } from '@rose/app';
import type { MarketSnapshot } from '@rose/app';

export async function marketSnapshot(): Promise<MarketSnapshot> {
  return (await getSiteData()).market;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * A moment for people in the site's zone, with the zone's name ("Wed 31 March 2027, 20:00 BST"):
 * cycle opening and closing times are only right when the zone is said.
 */
export function formatMoment(date: Date, locale: string, timeZone: string): string {
  const key = `${locale}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(locale, { weekday: 'short', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone, timeZoneName: 'short' });
    } catch {
      f = new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone: 'UTC' });
    }
    formatters.set(key, f);
  }
  return f.format(date);
}

export const availabilityText = {
  'in-stock': 'In stock',
  'out-of-stock': 'Sold out',
  'on-demand': 'Available to order',
  unavailable: 'Not available now',
} as const;
