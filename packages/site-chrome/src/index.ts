export { loadSiteChrome, type NavItem, type Navigation, type SiteChrome, type SiteSettings } from './site-chrome.ts';
