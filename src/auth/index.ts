/** Authentication (integration tokens), ACL checks and the deployment's crypt key. */
export * from './tokens.ts';
export * from './acl.ts';
export * from './crypt-key.ts';
