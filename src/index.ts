// Public surface. No top-level work here: every export is a function, a class or a type, so bundlers
// drop whatever a caller does not use.
export { subscribe } from './subscribe.js'
export { MemoryStore } from './checkpoint/memory.js'
export { resumeKey, type ResumeKeyParts } from './checkpoint/resume-key.js'
export {
  type Checkpoint,
  type CheckpointStore,
  CHECKPOINT_FORMAT,
  encodeCheckpoint,
  decodeCheckpoint,
  fromStored,
  toStored,
  supersedes,
  assertValidCheckpoint,
  toStoreError,
  type StoredCheckpoint,
} from './checkpoint/contract.js'
export { lastEventId, type LastEventIdOptions } from './dialects/last-event-id.js'
export { aviso, type AvisoOptions, ReplayLimitError } from './dialects/aviso.js'
export { durableStreams, StreamGoneError } from './dialects/durable-streams.js'
export { mercure, type MercureOptions } from './dialects/mercure.js'
export type { Dialect, DialectSession, DialectSink, AttemptRequest, Frame, StreamEnd } from './dialects/dialect.js'
export {
  ResumableSSEError,
  HttpError,
  StoreError,
  ConfigError,
  ProtocolError,
  EventTooLargeError,
  GapError,
  isResumableSSEError,
  type ErrorCode,
  type StoreErrorReason,
} from './errors.js'
export type {
  SSEEvent,
  Status,
  StatusChange,
  StatusEvent,
  StatusReason,
  Notice,
  SubscribeOptions,
  Subscription,
  Handler,
  BackoffOptions,
  StartPosition,
  Runtime,
  RequestContext,
  Role,
} from './types.js'
