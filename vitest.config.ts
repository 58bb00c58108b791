import { defineConfig } from 'vitest/config'

// Projects: `unit` (Node, fast, no network beyond 127.0.0.1), `dom` (happy-dom + fake-indexeddb),
// `runtimes` (real runtimes driven from Node: headless Chromium via playwright-core, workerd via
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
