// The CDN build (`dist/resumable-sse.global.js`): everything a plain <script> page can use, exposed as
// `window.ResumableSSE`. Browser stores are included; Worker-only stores are not. Assigned here rather
// than through esbuild's `globalName`, which wraps the exports in CommonJS interop helpers.
import { IndexedDBStore } from './checkpoint/indexeddb.js'
import { LocalStorageStore } from './checkpoint/local-storage.js'
import { EventSource } from './eventsource/index.js'
import type * as api from './index.js'
import {
  assertValidCheckpoint,
  aviso,
  CHECKPOINT_FORMAT,
  ConfigError,
  decodeCheckpoint,
  durableStreams,
  encodeCheckpoint,
  EventTooLargeError,
  fromStored,
  GapError,
  HttpError,
  isResumableSSEError,
  lastEventId,
  MemoryStore,
  mercure,
  ProtocolError,
  ReplayLimitError,
  ResumableSSEError,
  resumeKey,
  StoreError,
  StreamGoneError,
  subscribe,
  supersedes,
  toStored,
  toStoreError,
} from './index.js'

// The package's exports listed one by one, not spread from `import * as`: a namespace object costs the
// IIFE a getter per export and a helper. The type keeps the list complete: an export added to index.ts
// and missing here (or one listed that index.ts lacks) is a compile error. In the order the namespace
// object had (code-unit order), then the browser-only classes.
;(globalThis as { ResumableSSE?: typeof api & { IndexedDBStore: typeof IndexedDBStore; LocalStorageStore: typeof LocalStorageStore; EventSource: typeof EventSource } }).ResumableSSE = {
  CHECKPOINT_FORMAT,
  ConfigError,
  EventTooLargeError,
  GapError,
  HttpError,
  MemoryStore,
  ProtocolError,
  ReplayLimitError,
  ResumableSSEError,
  StoreError,
  StreamGoneError,
  assertValidCheckpoint,
  aviso,
  decodeCheckpoint,
  durableStreams,
  encodeCheckpoint,
  fromStored,
  isResumableSSEError,
  lastEventId,
  mercure,
  resumeKey,
  subscribe,
  supersedes,
  toStoreError,
  toStored,
  IndexedDBStore,
  LocalStorageStore,
  EventSource,
}
