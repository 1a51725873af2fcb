export { loadConfig, describeDatabase, withListenOrigin, isAstroKey, settings, type Config, type LogLevel } from './config.ts';
export { listenOrigin, sameHost, requestOrigin, receivedFromNode, siteOriginRedirect, isTrustedProxy, type OriginSettings } from './site-origin.ts';
