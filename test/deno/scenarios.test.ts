// The shared scenarios in Deno, against the built ESM package (dist/index.js; its bare imports resolve
// through node_modules, as in a Deno project with a package.json). The test server runs as a Node
// child process: an in-process node:http server would keep ops open across tests and trip Deno's
// sanitizers, which here are the point — they fail a test that leaves a timer or a fetch behind.
import * as built from '../../dist/index.js'
import { type Lib, scenarios } from '../scenarios/scenarios.ts'
import { startTestServer } from './test-server.ts'

const lib = built as unknown as Lib

const server = await startTestServer(900)

for (const scenario of scenarios) {
  Deno.test(scenario.name, async () => {
    await scenario.run({ lib, server, tag: 'deno' })
  })
}
