// shareAcrossTabs in Deno: no Web Locks and no tabs, so the subscription runs solo — a `role` notice,
// no error, a connection of its own — from the built package, under Deno's op sanitizers.
import { subscribe } from '../../dist/index.js'
import { startTestServer } from './test-server.ts'

const server = await startTestServer(300)

Deno.test('shareAcrossTabs falls back to solo with a notice and delivers as usual', async () => {
  const notices: unknown[] = []
  const sub = subscribe({ url: `${server}/events?sid=deno-share&total=3`, shareAcrossTabs: true, onNotice: (n: unknown) => notices.push(n) })
  if (sub.role !== 'solo') throw new Error(`role is ${sub.role}`)
  const seen: number[] = []
  for await (const event of sub) {
    seen.push(event.sequence)
    if (seen.length === 3) break
  }
  if (seen.join() !== '1,2,3') throw new Error(`got ${seen.join()}`)
  if (JSON.stringify(notices) !== JSON.stringify([{ kind: 'role', role: 'solo' }])) throw new Error(`notices: ${JSON.stringify(notices)}`)
})
