/**
 * Starts the SSE test server for a runtime that cannot call `startSSEServer` itself, prints one line
 * of JSON (`{"url":"http://127.0.0.1:PORT"}`) and stops by itself: when its stdin closes (the parent
 * went away) or after `--ttl` seconds, whichever comes first.
 *
 *   npx tsx test/server/cli.ts [--port N] [--ttl SECONDS] [--static DIR] [--ignore-stdin]
 *
 * `--ignore-stdin` is for callers that cannot keep a pipe open (the ttl still applies).
 */
import process from 'node:process'

// A computed specifier: Deno and tsx both load the `.ts` file, and tsc keeps the types below.
const { startSSEServer } = (await import(new URL('./sse-server.ts', import.meta.url).href)) as typeof import('./sse-server.js')

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? undefined : process.argv[index + 1]
}

const ttlSeconds = Number(option('ttl') ?? 600)
if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new Error(`Expected --ttl to be a positive number of seconds`)
const port = Number(option('port') ?? 0)
const staticDir = option('static')

const server = await startSSEServer({ port, ...(staticDir === undefined ? {} : { staticDir }) })
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await server.close()
  process.exit(0)
}

setTimeout(() => void stop(), ttlSeconds * 1000).unref?.()
// Keep the process alive for the ttl even though the timer above is unref'd when stdin is ignored.
const keepAlive = setInterval(() => {}, 60_000)
if (!process.argv.includes('--ignore-stdin')) {
  process.stdin.on('end', () => void stop())
  process.stdin.on('close', () => void stop())
  process.stdin.resume()
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
void keepAlive
