import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Packed, pack, ROOT } from './pack.js'

const run = promisify(execFile)

let packed: Packed

beforeAll(async () => {
  packed = await pack()
})

afterAll(async () => {
  await packed?.cleanup()
})

describe('the packed tarball', () => {
  it('holds the build, the README and the LICENSE, and nothing from the sources or tests', () => {
    expect(packed.files).toContain('LICENSE')
    const pkg = ['package.json', 'README.md', 'LICENSE']
    for (const file of packed.files) {
      expect(file.startsWith('dist/') || pkg.includes(file), `unexpected file in tarball: ${file}`).toBe(true)
    }
    for (const entry of ['index', 'indexeddb', 'local-storage', 'kv', 'durable-object', 'testing', 'eventsource']) {
      expect(packed.files).toContain(`dist/${entry}.js`)
      expect(packed.files).toContain(`dist/${entry}.cjs`)
      expect(packed.files).toContain(`dist/${entry}.d.ts`)
      expect(packed.files).toContain(`dist/${entry}.d.cts`)
    }
    expect(packed.files).toContain('dist/resumable-sse.global.js')
  })

  it('passes publint with no errors, warnings or suggestions', async () => {
    const data = await readFile(packed.tarball)
    const tarball = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer
    const { messages, pkg } = await publint({ pack: { tarball }, level: 'suggestion' })
    const text = messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`)
    if (text.length > 0) console.error(`publint:\n${text.join('\n')}`)
    expect(text).toEqual([])
  })

  it('passes Are The Types Wrong for every entry point and resolution mode', async () => {
    // The `./global` subpath is the IIFE for <script src>; it is not a module and has no types by
    // design, so it is the one entry point attw is told to skip.
    const attw = join(ROOT, 'node_modules/.bin/attw')
    const args = [packed.tarball, '--format', 'json', '--exclude-entrypoints', './global']
    let stdout: string
    try {
      ;({ stdout } = await run(attw, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }))
    } catch (error) {
      // attw exits 1 when it finds problems; its JSON still says what they are.
      stdout = (error as { stdout?: string }).stdout ?? ''
      if (!stdout) throw error
    }
    type Problem = { kind: string; entrypoint?: string; resolutionKind?: string; fileName?: string }
    const report = JSON.parse(stdout) as { analysis?: { problems?: Problem[] }; problems?: Problem[] }
    const problems = (report.analysis?.problems ?? report.problems ?? []).map(
      (p) => `${p.entrypoint ?? p.fileName ?? '?'} (${p.resolutionKind ?? 'any resolution'}): ${p.kind}`,
    )
    if (problems.length > 0) console.error(`attw problems:\n${problems.join('\n')}`)
    expect(problems).toEqual([])
  })
})
