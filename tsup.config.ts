import { join } from 'node:path'
import { defineConfig } from 'tsup'

// One entry per subpath so a Worker that imports `resumable-sse/kv` never pulls in idb-keyval.
const entry = {
  index: 'src/index.ts',
  indexeddb: 'src/checkpoint/indexeddb.ts',
  'local-storage': 'src/checkpoint/local-storage.ts',
  kv: 'src/checkpoint/kv-namespace.ts',
  'durable-object': 'src/checkpoint/durable-object.ts',
  testing: 'src/testing/index.ts',
  eventsource: 'src/eventsource/index.ts',
}

export default defineConfig([
  {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    treeshake: true,
    splitting: true,
  },
  {
    // @noble/hashes 2.x and eventsource-parser 4.x ship ESM only; the CommonJS build inlines them so
    // that `require('resumable-sse')` works on every Node >= 20 without require(esm).
    entry,
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'es2022',
    noExternal: ['@noble/hashes', 'eventsource-parser'],
  },
  {
    // The CDN build: `<script src=".../resumable-sse.global.js">` exposes `window.ResumableSSE`.
    entry: { 'resumable-sse': 'src/global.ts' },
    format: ['iife'],
    // No `globalName`: src/global.ts assigns `globalThis.ResumableSSE` itself (no CommonJS interop helpers).
    minify: true,
    sourcemap: true,
    // es2022 like the ESM build: below it esbuild lowers every private field to a WeakMap plus helpers.
    target: 'es2022',
    platform: 'browser',
    noExternal: [/.*/],
    outExtension: () => ({ js: '.global.js' }),
    // One file anyway, so what the ESM build loads lazily (`load.ts`: the share code, the Retry-After
    // date parser) is imported statically here (the `load-static.ts` next to it).
    esbuildPlugins: [{ name: 'static-lazy', setup: (b) => void b.onResolve({ filter: /\/load\.js$/ }, (a) => ({ path: join(a.resolveDir, a.path.replace(/\.js$/, '-static.ts')) })) }],
  },
])
