// LocalStorageStore in Deno (`deno test --location http://localhost/`: Deno's localStorage is
// persistent and keyed by origin), through the contract suite as shipped in the built package.
// The built .js files carry no types for Deno (their .d.ts point at a hashed chunk Deno cannot map),
// so the adapter below spells out its own.
import { LocalStorageStore } from '../../dist/local-storage.js'
import { checkpointStoreContract } from '../../dist/testing.js'

interface ContractTestApi {
  describe(name: string, body: () => void): void
  it(name: string, body: () => Promise<void>): void
}

// A describe/it adapter over Deno.test: describe names become a prefix, each `it` one Deno test.
const path: string[] = []
const registered: string[] = []
const t: ContractTestApi = {
  describe(name, body) {
    path.push(name)
    try {
      body()
    } finally {
      path.pop()
    }
  },
  it(name, body) {
    const full = [...path, name].join(' > ')
    registered.push(full)
    Deno.test(full, body)
  },
}

let run = 0
checkpointStoreContract(
  'LocalStorageStore (Deno)',
  () => {
    const prefix = `rsse-deno-contract-${Date.now()}-${run++}:`
    return {
      store: new LocalStorageStore({ prefix }),
      another: () => new LocalStorageStore({ prefix }),
      corrupt: async (key: string, raw: unknown) => localStorage.setItem(prefix + key, typeof raw === 'string' ? raw : JSON.stringify(raw)),
      neighbour: {
        write: async (name: string, value: string) => localStorage.setItem(name, value),
        read: async (name: string) => localStorage.getItem(name),
      },
    }
  },
  t,
)

Deno.test('the contract registered all fourteen cases', () => {
  if (registered.length !== 14) throw new Error(`expected 12 contract cases, registered ${registered.length}: ${registered.join('; ')}`)
})

Deno.test('LocalStorageStore is persistent, has clear(), and a bad constructor argument is a ConfigError', () => {
  const store = new LocalStorageStore({ prefix: 'rsse-deno-shape:' })
  if (store.persistent !== true || typeof store.clear !== 'function') throw new Error('expected persistent = true and clear()')
  for (const options of [{ prefix: null }, { storage: {} }]) {
    let error: { name?: string; code?: string } | undefined
    try {
      new LocalStorageStore(options as never)
    } catch (caught) {
      error = caught as typeof error
    }
    if (error?.name !== 'ConfigError' || error.code !== 'config') throw new Error(`${JSON.stringify(options)}: expected a ConfigError, got ${String(error)}`)
  }
})

Deno.test('puts wait for the Web Lock that guards their key (Deno has navigator.locks)', async () => {
  const prefix = 'rsse-deno-lock:'
  const key = `lock-${Date.now()}`
  const store = new LocalStorageStore({ prefix })
  await store.put(key, { sequence: 1, cursor: 'c1' })
  let release!: () => void
  let held!: () => void
  const holding = new Promise<void>((resolve) => (held = resolve))
  // Deno implements Web Locks but its bundled lib types do not declare them yet.
  const locks = (navigator as unknown as { locks: { request(name: string, body: () => Promise<void>): Promise<void> } }).locks
  const lock = locks.request(`resumable-sse lock ${prefix}${key}`, () => {
    held()
    return new Promise<void>((resolve) => (release = resolve))
  })
  await holding
  let settled = false
  const put = store.put(key, { sequence: 2, cursor: 'c2' }).finally(() => (settled = true))
  await new Promise((resolve) => setTimeout(resolve, 0))
  if (settled) throw new Error('the put finished while another holder had the lock')
  if ((await store.get(key))?.sequence !== 1) throw new Error('the put wrote while another holder had the lock')
  release()
  await Promise.all([lock, put])
  if ((await store.get(key))?.sequence !== 2) throw new Error('the put did not write after the lock was released')
  await store.delete(key)
})

Deno.test('a checkpoint written by one Deno process is read by the next (persistent localStorage)', async () => {
  const key = `persist-${Date.now()}`
  const prefix = 'rsse-deno-persist:'
  await new LocalStorageStore({ prefix }).put(key, { sequence: 12, cursor: 'c12', meta: { from: 'writer' } })
  const reader = new Deno.Command(Deno.execPath(), {
    args: [
      'eval',
      '--location',
      'http://localhost/',
      `const { LocalStorageStore } = await import(${JSON.stringify(new URL('../../dist/local-storage.js', import.meta.url).href)})
       console.log(JSON.stringify(await new LocalStorageStore({ prefix: ${JSON.stringify(prefix)} }).get(${JSON.stringify(key)})))`,
    ],
    stdout: 'piped',
    stderr: 'piped',
  })
  const { code, stdout, stderr } = await reader.output()
  if (code !== 0) throw new Error(`reader process failed: ${new TextDecoder().decode(stderr)}`)
  const got = JSON.parse(new TextDecoder().decode(stdout))
  if (JSON.stringify(got) !== JSON.stringify({ sequence: 12, cursor: 'c12', meta: { from: 'writer' } })) {
    throw new Error(`the next process read ${JSON.stringify(got)}`)
  }
  await new LocalStorageStore({ prefix }).delete(key)
})
