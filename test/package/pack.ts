// Packs the package the way `npm publish` would, so the package checks look at exactly what users get.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '../..')

export interface Packed {
  tarball: string
  files: string[]
  cleanup(): Promise<void>
}

/** Fails clearly when dist/ is missing; these checks never build (other suites may be reading dist/). */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist/index.js'))) {
    throw new Error('dist/ is missing: run `npx tsup` (or `npm test`, which builds first)')
  }
}

export async function pack(): Promise<Packed> {
  assertBuilt()
  const dir = await mkdtemp(join(tmpdir(), 'rsse-pack-'))
  // --ignore-scripts: a prepack hook must not rebuild dist/ under the feet of other suites.
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>
  if (!info) throw new Error(`npm pack printed nothing useful: ${out}`)
  return {
    tarball: join(dir, info.filename),
    files: info.files.map((f) => f.path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}
