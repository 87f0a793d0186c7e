/** Store views, store scope from the URL, and the fallback rules handlers apply. */
export * from './stores.ts';
export * from './resolve.ts';
export * from './fallback.ts';
