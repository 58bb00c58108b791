// @ts-check
// The dashboard: one resumable subscription to the demo feed, checkpointed in IndexedDB, with every
// status change, fault and checkpoint on screen.

import { lastEventId, subscribe } from '/dist/index.js'
import { IndexedDBStore } from '/dist/indexeddb.js'
import { RateChart } from './chart.js'
import { EventList } from './events.js'
import { wireFaultButtons } from './faults.js'
import { ResumeProof } from './resume.js'
import { clock, Timeline } from './timeline.js'

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

const chart = new RateChart(/** @type {HTMLCanvasElement} */ ($('rate-chart')))
const timeline = new Timeline(/** @type {HTMLOListElement} */ ($('timeline')))
const events = new EventList(/** @type {HTMLOListElement} */ ($('events')), {
  count: $('event-count'),
  gaps: $('gap-count'),
  repeats: $('repeat-count'),
})
const proof = new ResumeProof($('resume-proof'))

/** The feed wants a bearer token; the demo server hands out the current one at POST /token. */
async function fetchToken(signal) {
  const response = await fetch('/token', { method: 'POST', signal })
  if (!response.ok) throw new Error(`POST /token answered ${response.status}`)
  return /** @type {{ token: string }} */ (await response.json()).token
}

let token = await fetchToken()
const store = new IndexedDBStore({ dbName: 'resumable-sse-playground' })

const sub = subscribe({
  url: new URL('/feed', location.href),
  // Called per attempt, so the token refreshAuth fetched is the one the next attempt sends.
  headers: () => ({ authorization: `Bearer ${token}` }),
  refreshAuth: async ({ signal }) => {
    token = await fetchToken(signal)
  },
  store,
  // The checkpoint outlives the page and the feed is per user: say whose it is (the identity rule).
  fingerprint: 'demo-user',
  // The demo feed's ids advance by exactly one, so any jump is a real gap worth a notice.
  dialect: lastEventId({ contiguous: true }),
  // Small enough that the stall fault is caught in a few seconds (the server beats every second).
  heartbeatTimeout: 3000,
  // Every tab of the playground shares one connection: the leader tab runs it, the others follow.
  shareAcrossTabs: true,
  onStatus(change) {
    timeline.status(change)
    chart.status(change.status)
    const pill = $('status-pill')
    pill.dataset.status = change.status
    pill.textContent = change.status === 'backoff' && change.delay !== undefined ? `backoff ${change.delay} ms` : change.status
    $('reconnects').textContent = String(change.reconnects)
  },
  onNotice(notice) {
    switch (notice.kind) {
      case 'resumed':
        proof.resumedFrom(notice.checkpoint)
        timeline.notice('resumed', `from IndexedDB checkpoint #${notice.checkpoint.sequence}`)
        events.divider(`— resumed after checkpoint #${notice.checkpoint.sequence} (IndexedDB) —`)
        break
      case 'gap':
        timeline.notice('gap', `expected #${notice.expected}, server sent #${notice.received}`)
        break
      case 'duplicate':
        timeline.notice('duplicate', `#${notice.sequence} dropped by dedupe`)
        break
      case 'store-error':
        timeline.notice('store error', notice.error.message)
        break
      case 'role':
        showRole(notice.role)
        timeline.notice(
          'role',
          notice.role === 'leader'
            ? 'this tab leads: it runs the connection and relays to the other tabs (hand-off)'
            : 'shareAcrossTabs unavailable here: a connection of its own',
        )
        break
    }
  },
})

$('cp-store').textContent = 'IndexedDBStore'

/** The role pill: a follower tab receives everything from the leader tab over a BroadcastChannel. */
function showRole(role) {
  $('role').dataset.role = role
  $('role-name').textContent = role === 'leader' ? 'leader tab' : role === 'follower' ? 'follower tab' : 'solo'
  $('role-invite').textContent = role === 'solo' ? '' : role === 'leader' ? 'open a second tab ↗ (it will share this connection)' : 'close the leader tab to see a hand-off'
}
showRole(sub.role)
// The derived resume key (SHA-256 of url, method, body, dialect): shortened, whole in the tooltip.
$('cp-key').textContent = `${sub.key.slice(0, 12)}…${sub.key.slice(-6)}`
$('cp-key').title = sub.key
// The subscription starts in 'connecting' without a change event; show it as the first row.
timeline.status({ status: sub.status, previous: sub.status, attempt: 0, reconnects: 0 })
chart.status(sub.status)

// Handler form: an event is committed once this function returns, so everything on screen is
// exactly what the checkpoint covers.
const done = sub.forEach((event) => {
  const { row, replayed } = events.add(event)
  chart.count(replayed)
  proof.delivered(event.sequence, row)
})
done.catch((error) => timeline.notice('failed', `${error.code ?? error.name}: ${error.message}`))

// The checkpoint as the library reports it: the last one handed to the store.
let shown = -1
setInterval(() => {
  const cp = sub.checkpoint
  if (!cp || cp.sequence === shown) return
  shown = cp.sequence
  const seq = $('cp-sequence')
  seq.textContent = `#${cp.sequence}`
  seq.classList.remove('flash')
  void seq.offsetWidth // restart the flash animation
  seq.classList.add('flash')
  $('cp-cursor').textContent = JSON.stringify(cp.cursor)
  $('cp-time').textContent = cp.committedAt === undefined ? '–' : clock(cp.committedAt)
}, 200)

wireFaultButtons(document.querySelectorAll('button[data-fault]'), $('fault-result'), (name) => {
  chart.fault(name)
  return timeline.fault(name)
})

$('reload').addEventListener('click', async () => {
  // close() stops the stream and flushes the checkpoint to IndexedDB; only then is it safe to leave.
  proof.beforeReload(events.last, sub.checkpoint?.sequence)
  await sub.close()
  location.reload()
})

// A reload through the browser itself: close as well as we can. IndexedDB may not finish the last
// write before the page goes, in which case a few events arrive again (at-least-once), never fewer.
addEventListener('pagehide', () => {
  if (sub.status !== 'closed') {
    proof.beforeReload(events.last, sub.checkpoint?.sequence)
    void sub.close()
  }
})
