import { execSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os'
import { join } from 'node:path'

export interface Machine {
  cpu: string
  cores: number
  memory: string
  os: string
  node: string
  v8: string
  load: string
  versions: Record<string, string>
  commit: string
  date: string
}

function version(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

export function describeMachine(root: string): Machine {
  const list = cpus()
  let commit = 'unknown'
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    const dirty = execSync('git status --porcelain -- src', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
    if (dirty) commit += ' (+ uncommitted src/ changes)'
  } catch {
    // not a git checkout (e.g. a tarball): the version alone identifies it
  }
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${osType()} ${release()}`,
    node: process.version,
    v8: process.versions.v8,
    load: loadavg().map((l) => l.toFixed(2)).join(' / '),
    versions: {
      'resumable-sse': own.version,
      eventsource: version(root, 'eventsource'),
      '@microsoft/fetch-event-source': version(root, '@microsoft/fetch-event-source'),
      'fetch-event-stream': version(root, 'fetch-event-stream'),
      'eventsource-parser': version(root, 'eventsource-parser'),
      esbuild: version(root, 'esbuild'),
      'playwright-core': version(root, 'playwright-core'),
    },
    commit,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  }
}
