import { defineConfig } from 'vitest/config'

// Projects: `unit` (Node, pure modules: machine, backoff, channel, committer, keys, protocol pieces),
// `integration` (Node, real sockets on 127.0.0.1: feed, aviso, Mercure, Durable Streams and nchan
// servers), `dom` (happy-dom + fake-indexeddb), `runtimes` (real runtimes driven from Node: headless Chromium via playwright-core, workerd via
// miniflare, the packed package). Deno runs separately through `npm run test:deno`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'dom',
          include: ['test/dom/**/*.test.ts'],
          environment: 'happy-dom',
          setupFiles: ['fake-indexeddb/auto'],
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'runtimes',
          include: ['test/browser/**/*.test.ts', 'test/workerd/**/*.test.ts', 'test/package/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
