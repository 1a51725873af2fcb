export { loadConfig, describeDatabase, withListenOrigin, isAstroKey, settings, type Config, type LogLevel } from './config.ts';
export { listenOrigin, sameHost, requestOrigin, receivedFromNode, siteOriginRedirect, isTrustedProxy, parseProxyEntry, type OriginSettings, type ReceivedRequest, type SiteRedirect } from './site-origin.ts';
