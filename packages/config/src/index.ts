export { loadConfig, describeDatabase, settings, type Config, type LogLevel } from './config.ts';
