export { loadConfig, describeDatabase, isAstroKey, settings, type Config, type LogLevel } from './config.ts';
