/**
 * Starts the project's test server (`test/server/cli.ts`) under Node and reads its `{"url":...}` line.
 * The server stops by itself when its stdin closes, which happens when this Deno process exits, or
 * after `ttlSeconds`: no teardown step is needed.
 */
export async function startTestServer(ttlSeconds = 600): Promise<string> {
  const child = new Deno.Command('node', {
    args: ['--import', 'tsx', 'test/server/cli.ts', '--ttl', String(ttlSeconds)],
    cwd: new URL('../../', import.meta.url),
    stdin: 'piped',
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn()
  // Deno may exit while the server still runs; its stdin closing then stops it.
  child.unref()
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the test server exited before printing its url: ${text}`)
    text += value
  }
  reader.releaseLock()
  return (JSON.parse(text.slice(0, text.indexOf('\n'))) as { url: string }).url
}
