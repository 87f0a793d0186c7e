/** Authentication (bearer tokens, OAuth 1.0a integrations, admin tokens), ACL checks and the crypt key. */
export * from './tokens.ts';
export * from './acl.ts';
export * from './crypt-key.ts';
export * from './caller.ts';
export * from './encryptor.ts';
export * from './integrations.ts';
export * from './admin.ts';
