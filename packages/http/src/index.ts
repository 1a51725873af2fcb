export { abortableSleep, createHttpClient, type HttpClient, type HttpResponse } from './http-client.ts';
export { HttpError } from './http.error.ts';
export { redactText } from './redact.ts';
export {
  createPageFetcher,
  isHostAllowed,
  privateAddressKind,
  sniffImage,
  decodeText,
  type PageFetcher,
  type PageFetcherOptions,
  type PageRequest,
  type PageRefusal,
  type PageRefusalReason,
  type PageNotModified,
  type TextPage,
  type BytesPage,
  type TextPageResult,
  type BytesPageResult,
  type HostAllowList,
  type LookupAll,
} from './page-fetcher.ts';
