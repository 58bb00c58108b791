import type { MachineConfig } from '../../src/supervisor/machine.js'

/** The library's default reconnect policy as the pure machine sees it; tests override what they probe. */
export const machineConfig = (overrides: Partial<MachineConfig> = {}): MachineConfig => ({
  baseDelay: 250,
  factor: 2,
  maxDelay: 30_000,
  maxRetryAfter: 300_000,
  maxRetries: Number.POSITIVE_INFINITY,
  mode: 'live',
  canRefreshAuth: true,
  pauseWhenHidden: false,
  healthyAfter: 1000,
  ...overrides,
})
