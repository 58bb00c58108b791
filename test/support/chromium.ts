import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'

/** Debian's chromium (installed by .ci/run); we never download a browser of our own. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

// Without the background-networking flags Chromium keeps dialling out, and this machine's closed
// network refuses it many times a second.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface LaunchedChromium {
  /** One profile: pages opened here share an origin's IndexedDB/localStorage, like tabs. */
  context: BrowserContext
  /** Closes the browser and deletes its profile directory. */
  close(): Promise<void>
}

/**
 * A fresh headless Chromium with its own empty profile (`--user-data-dir` in a new temp directory),
 * so storage starts empty and nothing leaks between test files. Close it in `afterAll`.
 */
export async function launchChromium(): Promise<LaunchedChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'rsse-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
  })
  return {
    context,
    async close() {
      await context.close().catch(() => {})
      await rm(userDataDir, { recursive: true, force: true })
    },
  }
}
