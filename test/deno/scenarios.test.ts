// The shared scenarios in Deno, against the built ESM package (dist/index.js; its bare imports resolve
// through node_modules, as in a Deno project with a package.json). The test server runs as a Node
// child process: an in-process node:http server would keep ops open across tests and trip Deno's
// sanitizers, which here are the point — they fail a test that leaves a timer or a fetch behind.
import * as built from '../../dist/index.js'
import { type Lib, scenarios } from '../scenarios/scenarios.ts'

const lib = built as unknown as Lib
const root = new URL('../../', import.meta.url)

/**
 * Starts `test/server/cli.ts` under Node and reads its `{"url":...}` line. The server stops by itself
 * when its stdin closes, which happens when this Deno process exits: no teardown step is needed.
 */
async function startServer(): Promise<string> {
  const child = new Deno.Command('node', {
    args: ['--import', 'tsx', 'test/server/cli.ts', '--ttl', '900'],
    cwd: root,
    stdin: 'piped',
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn()
  // Deno may exit while the server still runs; its stdin closing then stops it.
  child.unref()
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the test server exited before printing its url: ${text}`)
    text += value
  }
  reader.releaseLock()
  return (JSON.parse(text.slice(0, text.indexOf('\n'))) as { url: string }).url
}

const server = await startServer()

for (const scenario of scenarios) {
  Deno.test(scenario.name, async () => {
    await scenario.run({ lib, server, tag: 'deno' })
  })
}
