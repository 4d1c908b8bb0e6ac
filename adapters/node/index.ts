/**
 * Node-only fast paths (node:http, node:https): `nodeFetch`, a `fetch` with keep-alive agents for the
 * transports' `fetch` option, and `toNodeListener`, which serves the web handlers from a node:http
 * server without building a Web `Request` and `Response` per call. The other entries stay
 * runtime-neutral; this one is for Node (Bun and Deno have node:http too).
 * @module campaign-lifecycle/node
 */

export type { NodeFetchOptions } from './node-fetch.js';
export { nodeFetch } from './node-fetch.js';
export type { NodeListener, NodeListenerOptions } from './node-listener.js';
export { toNodeListener } from './node-listener.js';
