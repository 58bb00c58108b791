// resumable-sse is measured as users install it: the built dist/ files, not src/ through tsx.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ResumableSSE } from './clients.js'

export async function loadBuilt(root: string): Promise<{ lib: ResumableSSE | undefined; problem?: string }> {
  const file = join(root, 'dist/index.js')
  if (!existsSync(file)) return { lib: undefined, problem: 'dist/index.js is missing (run `npm run build`)' }
  try {
    const mod = (await import(pathToFileURL(file).href)) as Partial<ResumableSSE>
    if (typeof mod.subscribe !== 'function' || typeof mod.MemoryStore !== 'function') {
      return { lib: undefined, problem: 'dist/index.js does not export subscribe and MemoryStore yet' }
    }
    return { lib: mod as ResumableSSE }
  } catch (error) {
    return { lib: undefined, problem: `dist/index.js failed to load: ${(error as Error).message}` }
  }
}
