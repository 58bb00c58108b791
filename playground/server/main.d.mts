// Types for the playground server, so TypeScript tests can start it in-process.
import type { Feed } from './feed.mjs'

export interface Playground {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string
  readonly port: number
  readonly feed: Feed
  readonly tokens: { readonly current: string; rotate(): string }
  /** Stops the generator, timers and every socket; resolves when the server is closed. */
  close(): Promise<void>
}

export function startPlayground(options?: { port?: number; firstId?: number }): Promise<Playground>
