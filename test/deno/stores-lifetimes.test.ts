// A subscription resumes across a process exit in Deno: the first lifetime runs in a child Deno
// process that exits, the second in this one, with nothing shared but Deno's persistent localStorage
// (same --location). The test server runs as a Node child process that stops when its stdin closes.
import * as built from '../../dist/index.js'
import { LocalStorageStore } from '../../dist/local-storage.js'
import { acrossLifetimes, type Lib, type ScenarioContext } from '../scenarios/scenarios.ts'
import { startTestServer } from './test-server.ts'

const root = new URL('../../', import.meta.url)

const server = await startTestServer(300)
const ctx: ScenarioContext = { lib: built as unknown as Lib, server, tag: 'deno-lifetimes' }
const PREFIX = 'rsse-deno-lifetimes:'

Deno.test(`${acrossLifetimes.name}: LocalStorageStore, a Deno process that exits, then the next`, async () => {
  const sid = acrossLifetimes.sid(ctx)
  const module = (path: string) => JSON.stringify(new URL(path, root).href)
  const firstLifetime = `
    const built = await import(${module('dist/index.js')})
    const { LocalStorageStore } = await import(${module('dist/local-storage.js')})
    const { acrossLifetimes } = await import(${module('test/scenarios/scenarios.ts')})
    const ctx = { lib: built, server: ${JSON.stringify(server)}, tag: 'deno-lifetimes' }
    const key = await acrossLifetimes.first(ctx, ${JSON.stringify(sid)}, new LocalStorageStore({ prefix: ${JSON.stringify(PREFIX)} }))
    console.log(JSON.stringify({ key }))
  `
  const child = await new Deno.Command(Deno.execPath(), {
    args: ['eval', '--location', 'http://localhost/', firstLifetime],
    cwd: root,
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const stderr = new TextDecoder().decode(child.stderr)
  if (child.code !== 0) throw new Error(`the first lifetime failed (exit ${child.code}): ${stderr}`)
  const { key } = JSON.parse(new TextDecoder().decode(child.stdout).trim().split('\n').at(-1) ?? '{}') as { key: string }
  const store = new LocalStorageStore({ prefix: PREFIX })
  await acrossLifetimes.second(ctx, sid, store, key)
  await store.delete(key)
})
