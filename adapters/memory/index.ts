/** @module campaign-lifecycle/memory — in-process storage, the embedded default. */

export type { MemoryStorageOptions } from './memory-storage.js';
export { memoryStorage } from './memory-storage.js';
