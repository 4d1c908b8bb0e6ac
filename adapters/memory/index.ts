/**
 * In-process storage, the embedded default.
 * @module campaign-lifecycle/memory
 */

export type { MemoryStorageOptions } from './memory-storage.js';
export { memoryStorage } from './memory-storage.js';
