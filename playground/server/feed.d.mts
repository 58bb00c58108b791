export declare const HISTORY_LIMIT: number
export declare class Feed {
  constructor(options?: { firstId?: number })
  start(): void
  stop(): void
  append(options?: { broadcast?: boolean }): { id: number; type: string; json: string }
  listen(listener: (event: { id: number; type: string; json: string }) => void): () => void
  since(lastId: number): { events: { id: number; type: string; json: string }[]; gap: boolean }
  readonly newestId: number
  readonly oldestId: number | undefined
  readonly size: number
}
