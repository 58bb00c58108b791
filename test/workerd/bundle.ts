import { build } from 'esbuild'

/**
 * Bundles a Worker the way wrangler does: ESM, workerd/worker/browser export conditions, no Node
 * built-ins — so the library is tested exactly as a Workers user ships it.
 */
export async function bundleWorker(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
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
  if (!output) throw new Error(`esbuild produced no output for ${entry}`)
  return output.text
}
