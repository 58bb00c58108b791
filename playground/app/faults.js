// @ts-check
// The fault buttons: each one is a plain POST to the demo server, which then misbehaves on purpose.

const DESCRIBE = {
  drop: (r) => `reset ${r.dropped} connection(s) halfway through an event`,
  503: (r) => `ended ${r.ended} connection(s); next ${r.count} request(s) get 503, Retry-After: ${r.retryAfter}`,
  stall: (r) => `${r.stalled} connection(s) gone silent; heartbeatTimeout is 3 s`,
  auth: (r) => `token revoked, ended ${r.ended} connection(s): next request is a 401`,
  restart: (r) => `killed ${r.killed} connection(s), down for ${r.downtimeMs} ms, event log kept`,
}

/**
 * @param {NodeListOf<HTMLButtonElement>} buttons
 * @param {HTMLElement} result
 * @param {(name: string) => (detail: string) => void} onFault called on the click (so the fault is on
 *   the timeline before its effects are), returns how to add the server's answer
 */
export function wireFaultButtons(buttons, result, onFault) {
  for (const button of buttons) {
    button.addEventListener('click', async () => {
      const name = button.dataset.fault ?? ''
      button.disabled = true
      const settle = onFault(name)
      try {
        const response = await fetch(`/faults/${name}`, { method: 'POST' })
        const body = await response.json()
        const detail = DESCRIBE[name]?.(body) ?? JSON.stringify(body)
        result.textContent = `⚡ ${name}: ${detail}`
        settle(detail)
      } catch (error) {
        result.textContent = `⚡ ${name} failed: ${error}`
        settle(`failed: ${error}`)
      } finally {
        button.disabled = false
      }
    })
  }
}
