// The CDN build (`dist/resumable-sse.global.js`): everything a plain <script> page can use, exposed as
// `window.ResumableSSE`. Browser stores are included; Worker-only stores are not. Assigned here rather
// than through esbuild's `globalName`, which wraps the exports in CommonJS interop helpers.
import { IndexedDBStore } from './checkpoint/indexeddb.js'
import { LocalStorageStore } from './checkpoint/local-storage.js'
import { EventSource } from './eventsource/index.js'
import * as api from './index.js'

;(globalThis as { ResumableSSE?: unknown }).ResumableSSE = { ...api, IndexedDBStore, LocalStorageStore, EventSource }
