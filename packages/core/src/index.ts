export { ok, err, assertNever, type Result } from './result.ts';
export {
  RoseError,
  ConfigError,
  ContentError,
  DatabaseUnreachableError,
  PendingMigrationsError,
  maskUrl,
} from './errors.ts';
export { errorCatalogue, isErrorCode } from './error-catalogue.ts';
export { systemClock, createFixedClock, type Clock } from './clock.ts';
export { parseWithFriendlyErrors } from './validation.ts';
export { parts, partPath, blogLinks, marketLinks, siteLinks, accountLinks, absoluteUrl, type Part } from './links.ts';
export { createLinks, linkPaths, type Links } from './part-links.ts';
export { isSiteOnlyPath } from './part-links.ts';
export { currencyDigits, parseAmount, formatMoney, decimalAmount, isCurrency, type Money } from './money.ts';
export { isTimeZone, localTimeToInstant } from './zoned-time.ts';
export { escapeXml } from './xml.ts';
export { formatBytes } from './bytes.ts';
export { resolvePartNames } from './static-parts.ts';
