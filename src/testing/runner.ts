import type { ContractTestApi } from './suite.js'

export interface CaseResult {
  /** `describe` names and the case name, joined with ' > '. */
  name: string
  ok: boolean
  /** The failure's message when `ok` is false. */
  error?: string
}

export interface ContractRunner extends ContractTestApi {
  /** The registered case names, in order, without running anything (to check none went missing). */
  names(): string[]
  /** Runs the registered cases one after another; never rejects. */
  run(): Promise<CaseResult[]>
}

/**
 * A tiny describe/it for places without a test framework (a Cloudflare Worker, a plain page): register
 * the suite with it, then `await runner.run()` and report the results however the host can.
 *
 * @example
 * const runner = createContractRunner()
 * checkpointStoreContract('MyStore', () => ({ store: new MyStore() }), runner)
 * const results = await runner.run() // [{ name, ok, error? }]
 */
export function createContractRunner(): ContractRunner {
  const cases: { name: string; body: () => Promise<void> }[] = []
  const path: string[] = []
  return {
    describe(name, body) {
      path.push(name)
      try {
        body()
      } finally {
        path.pop()
      }
    },
    it(name, body) {
      cases.push({ name: [...path, name].join(' > '), body })
    },
    names() {
      return cases.map((c) => c.name)
    },
    async run() {
      const results: CaseResult[] = []
      for (const { name, body } of cases) {
        try {
          await body()
          results.push({ name, ok: true })
        } catch (error) {
          results.push({ name, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
        }
      }
      return results
    },
  }
}
