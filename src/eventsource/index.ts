// `resumable-sse/eventsource`: the drop-in EventSource class. Its own subpath, so a plain
// `import { subscribe }` never pays for it.
export { EventSource, type EventSourceInit, type EventSourceEventMap } from './event-source.js'
