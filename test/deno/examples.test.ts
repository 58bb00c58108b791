// playground/examples/deno.ts, run exactly as the README says (`deno run --location ...`), against the
// playground's demo feed (a Node child process that stops when our end of its stdin closes). Two runs:
// the second must start right after the last event the first one printed, from localStorage alone.
const root = new URL('../../', import.meta.url)
const PREFIX = 'resumable-sse-example:'

async function startPlayground(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command('node', {
    args: ['playground/server/main.mjs', '--stop-on-stdin-close'],
    cwd: root,
    env: { PORT: '0' },
    stdin: 'piped',
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn()
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  let url: RegExpExecArray | null = null
  while (!(url = /http:\/\/127\.0\.0\.1:\d+\//.exec(text))) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the playground exited before printing its url: ${text}`)
    text += value
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done);
  })()
  return {
    url: url[0],
    async stop() {
      await child.stdin.close()
      await child.status
      await drained
    },
  }
}

interface Run {
  resumedFrom: number | undefined
  sequences: number[]
  output: string
}

async function runExample(feed: string, count: number): Promise<Run> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ['run', '--allow-net=127.0.0.1', '--allow-env', '--location', 'http://localhost/', 'playground/examples/deno.ts'],
    cwd: root,
    env: { FEED_URL: feed, COUNT: String(count), NO_COLOR: '1' },
    stdout: 'piped',
    stderr: 'piped',
  }).output()
  const output = new TextDecoder().decode(result.stdout)
  if (result.code !== 0) throw new Error(`deno.ts exited with ${result.code}:\n${output}\n${new TextDecoder().decode(result.stderr)}`)
  const resumed = /resumed after checkpoint #(\d+)/.exec(output)
  const sequences = [...output.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]))
  return { resumedFrom: resumed ? Number(resumed[1]) : undefined, sequences, output }
}

function clearExampleCheckpoints(): void {
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const key = localStorage.key(i)
    if (key?.startsWith(PREFIX)) localStorage.removeItem(key)
  }
}

Deno.test('examples/deno.ts: a second run resumes after the last event the first one printed', async () => {
  clearExampleCheckpoints()
  const playground = await startPlayground()
  try {
    const feed = new URL('feed', playground.url).href
    const first = await runExample(feed, 4)
    if (first.resumedFrom !== undefined) throw new Error(`the first run found a checkpoint:\n${first.output}`)
    if (!/no checkpoint yet/.test(first.output)) throw new Error(`the first run did not say it started live:\n${first.output}`)
    assertContiguous(first.sequences, 4, first.output)

    const second = await runExample(feed, 3)
    const last = first.sequences.at(-1)!
    if (second.resumedFrom !== last) throw new Error(`expected to resume after #${last}:\n${second.output}`)
    if (second.sequences[0] !== last + 1) throw new Error(`expected #${last + 1} first:\n${second.output}`)
    assertContiguous(second.sequences, 3, second.output)
  } finally {
    await playground.stop()
    clearExampleCheckpoints()
  }
})

function assertContiguous(sequences: number[], count: number, output: string): void {
  if (sequences.length !== count) throw new Error(`expected ${count} events, got ${sequences.length}:\n${output}`)
  for (let i = 1; i < sequences.length; i++) {
    if (sequences[i] !== sequences[i - 1]! + 1) throw new Error(`not contiguous at ${sequences[i - 1]} → ${sequences[i]}:\n${output}`)
  }
}
