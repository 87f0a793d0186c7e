/**
 * node:http and node:https through require, not an ES import. Importing node:http as an ES module
 * builds its ES namespace, reading every export once, and two of them (WebSocket, CloseEvent…) are
 * getters that load Node's bundled fetch client, undici: about 45 ms of CPU in every process that
 * imports it (Node 24), which a server, a consumer or `npm start` never uses. require() hands back
 * the module object without touching those getters. node:https (which loads node:tls) only when a
 * caller asks for it: most processes never speak https.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const http = load('node:http') as typeof import('node:http');

export const https = (): typeof import('node:https') => load('node:https') as typeof import('node:https');
