// `resumable-sse/testing`: the checkpoint store contract as a runner-agnostic test suite, plus a tiny
// runner for hosts without a test framework (a Worker, a page). Never imports a test framework.
export { checkpointStoreContract, type ContractTestApi, type MaybePromise, type StoreHarness } from './suite.js'
export { createContractRunner, type CaseResult, type ContractRunner } from './runner.js'
export { ContractViolation } from './assert.js'
