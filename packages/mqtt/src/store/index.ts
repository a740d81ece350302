/**
 * Session stores: the interface, the memory store and the crash-safe file store.
 *
 * @module
 */

export {
  StoreCorruptionError,
  type StoreCorruptionKind,
  StoreError,
  StoreLockedError,
} from './errors.js';
export {
  type FileSessionStore,
  type FileStoreIo,
  type FileStoreOptions,
  type FileStoreStats,
  fileStore,
  nodeFileStoreIo,
} from './file.js';
export { memoryStore } from './memory.js';
export type {
  OutgoingPhase,
  OutgoingRecord,
  SessionStore,
  StoredSession,
  StoredSubscription,
  StoreSnapshot,
} from './types.js';
