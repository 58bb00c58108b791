// Starts bench/server/sse-server.ts in a child process and returns its base URL.
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface ChildServer {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

export async function startChildServer(): Promise<ChildServer> {
  const script = fileURLToPath(new URL('../server/sse-server.ts', import.meta.url))
  const child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('loopback server did not start within 20 s')), 20_000)
    child.once('message', (message) => {
      clearTimeout(timer)
      resolve((message as { port: number }).port)
    })
    child.once('exit', (code) => reject(new Error(`loopback server exited early (${code})`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill()
      }),
  }
}
