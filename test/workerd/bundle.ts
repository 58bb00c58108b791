import { build } from 'esbuild'

/**
 * Bundles a Worker the way wrangler does: ESM, workerd/worker/browser export conditions, no Node
 * built-ins — so the library is tested exactly as a Workers user ships it.
 */
export async function bundleWorker(entry: string | { code: string; resolveDir: string; alias?: Record<string, string> }): Promise<string> {
  const result = await build({
    // A file, or code given as text (a README example) with its imports resolved from `resolveDir`.
    ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: { contents: entry.code, loader: 'ts' as const, resolveDir: entry.resolveDir }, alias: entry.alias }),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const output = result.outputFiles?.[0]
  if (!output) throw new Error('esbuild produced no output')
  return output.text
}
