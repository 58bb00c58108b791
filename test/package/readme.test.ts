import { spawn } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SSEServer, feedUrl, startSSEServer } from '../server/sse-server.js'

// The README's first example is the contract with a new user: it must run as written. We take the
// first ```ts block, point its URL at the test server, and run it as the user would — a separate Node
// process importing 'resumable-sse' by name (the package resolves itself through its exports map,
// i.e. the built dist/, exactly what `npm install resumable-sse` gives).
const root = join(import.meta.dirname, '..', '..')
const workDir = join(root, 'test-results', 'readme-example')
let server: SSEServer

beforeAll(async () => {
  server = await startSSEServer()
  await mkdir(workDir, { recursive: true })
})
afterAll(async () => {
  await server.close()
  await rm(workDir, { recursive: true, force: true })
})

async function firstExample(): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('README has no ```ts example')
  return block
}

describe('README example', () => {
  it('runs as written and prints the events of a live feed, resuming across a dropped connection', async () => {
    const example = await firstExample()
    expect(example).toContain("from 'resumable-sse'")
    const url = feedUrl(server.url, { sid: 'readme', total: 6, plan: [{ events: 3, then: 'drop-mid-frame' }, { then: 'hold' }] })
    const code = example.replace(/'https:\/\/example\.com\/feed'/, JSON.stringify(url))
    expect(code).not.toBe(example)
    const file = join(workDir, 'example.mts')
    await writeFile(file, code)

    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const lines = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`example printed only:\n${stdout}\n${stderr}`)), 20_000)
      child.stdout.on('data', (chunk) => {
        stdout += chunk
        const got = stdout.trim().split('\n')
        if (got.length >= 6) {
          clearTimeout(timer)
          resolve(got)
        }
      })
      child.on('exit', (code) => reject(new Error(`example exited (${code}):\n${stdout}\n${stderr}`)))
    }).finally(() => child.kill())
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['1', '2', '3', '4', '5', '6'])
    expect(lines[0]).toContain("sid: 'readme'")
    expect(server.log('readme').map((r) => r.headers['last-event-id'])).toEqual([undefined, '3'])
  })
})
