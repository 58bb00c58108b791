// The CDN build (`dist/resumable-sse.global.js`): everything a plain <script> page can use, exposed as
// `window.ResumableSSE`. Browser stores are included; Worker-only stores are not.
export * from './index.js'
export { IndexedDBStore } from './checkpoint/indexeddb.js'
export { LocalStorageStore } from './checkpoint/local-storage.js'
export { EventSource } from './eventsource/index.js'
