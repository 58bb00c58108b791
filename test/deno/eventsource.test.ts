// The EventSource scenarios (web-platform-tests' eventsource/ behaviours) in Deno, against the built
// `resumable-sse/eventsource`, with Deno's sanitizers on: a scenario that leaves a timer or a fetch
// behind fails. Plus the resume across a process restart with localStorage (`--location` gives the
// origin its storage).
import { MemoryStore } from '../../dist/index.js'
import { EventSource } from '../../dist/eventsource.js'
import { type ESLib, esScenarios, scriptUrl, serverLog } from '../scenarios/eventsource.ts'
import { startTestServer } from './test-server.ts'

const lib = { EventSource, MemoryStore } as unknown as ESLib

const server = await startTestServer(900)

for (const scenario of esScenarios) {
  Deno.test(`EventSource: ${scenario.name}`, async () => {
    await scenario.run({ lib, server, tag: 'deno' })
  })
}

Deno.test('EventSource: importing the class leaves Deno\'s own global EventSource in place', () => {
  const global = (globalThis as { EventSource?: unknown }).EventSource
  if (typeof global !== 'function' || global === EventSource) throw new Error('globalThis.EventSource is not Deno\'s own')
})

Deno.test('EventSource: resumes across a process restart with localStorage', async () => {
  const sid = `deno-es-restart-${Date.now()}`
  const url = scriptUrl(server, sid, [
    { chunks: ['retry: 20\n\n', 'id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], then: 'hold' },
    { chunks: ['retry: 20\n\n', 'id: 3\ndata: c\n\n'] },
  ])
  // Each half is its own Deno process sharing one --location (and so one localStorage).
  const half = async (which: 'first' | 'second'): Promise<string> => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ['run', '--allow-net', '--allow-read', '--allow-env', '--location', 'http://localhost/es-restart', new URL('./eventsource-lifetime.ts', import.meta.url).pathname, which, url],
      stdout: 'piped',
      stderr: 'piped',
    }).output()
    const text = new TextDecoder().decode(output.stdout).trim()
    if (!output.success) throw new Error(`${which} half failed: ${new TextDecoder().decode(output.stderr)}`)
    return text
  }
  const first = await half('first')
  const second = await half('second')
  if (first !== '[["a","1"],["b","2"]]') throw new Error(`first process saw ${first}`)
  if (second !== '[["c","3"]]') throw new Error(`second process saw ${second}`)
  const log = await serverLog(server, sid)
  const ids = JSON.stringify(log.map((r) => r.headers['last-event-id'] ?? null))
  if (ids !== '[null,"2","3"]') throw new Error(`Last-Event-ID per connection: ${ids}`)
})
