import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Plugin } from 'esbuild'

/**
 * Resolves `resumable-sse` and its subpaths through package.json "exports" to the built dist/ files,
 * exactly what a bundler would pick from an installed copy. A missing file is a clear error, so a store
 * that is not built yet shows as "not yet available" instead of a stack trace.
 */
export function selfResolve(root: string): Plugin {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { import?: { default?: string } } | string>
  }
  return {
    name: 'resumable-sse-dist',
    setup(b) {
      b.onResolve({ filter: /^resumable-sse(\/.*)?$/ }, (args) => {
        const sub = `.${args.path.slice('resumable-sse'.length)}`
        const target = pkg.exports[sub]
        const file = typeof target === 'string' ? target : target?.import?.default
        if (!file) return { errors: [{ text: `package.json has no export ${sub}` }] }
        const path = join(root, file)
        if (!existsSync(path)) return { errors: [{ text: `not yet available in dist/ (${file})` }] }
        return { path }
      })
    },
  }
}

/** Whether `resumable-sse/<sub>` resolves to a built file. */
export function builtEntry(root: string, sub: string): boolean {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { import?: { default?: string } } | string>
  }
  const target = pkg.exports[sub]
  const file = typeof target === 'string' ? target : target?.import?.default
  return file !== undefined && existsSync(join(root, file))
}
