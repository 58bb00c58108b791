/**
 * A real nginx with the nchan module (Debian's `nginx` + `libnginx-mod-nchan`, installed by .ci/run)
 * and the Redis it stores messages in (`redis-server`), each on a free 127.0.0.1 port with every
 * file in its own temp directory. Both are stopped by their pid; both also run under `timeout`, so
 * they stop by themselves should the test process die without cleaning up.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const NGINX = '/usr/sbin/nginx'
const MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so'
const REDIS = '/usr/bin/redis-server'
/** The longest any of them may live. */
const TTL_SECONDS = '600'

export interface Nchan {
  /** `http://127.0.0.1:PORT` */
  url: string
  /**
   * POSTs a message to `/pub/<channel>` (Redis storage) or `/mem/pub/<channel>` (memory storage);
   * resolves with nchan's id for it (`time:tag`).
   */
  publish(channel: string, data: string, storage?: 'redis' | 'memory'): Promise<string>
  /** Stops nginx (SIGTERM to its pid, waits for it to exit) and starts it again on the same port. */
  restart(): Promise<void>
  /** The subscribe lines of the access log: `GET /sub/x header=[…] query=[…] 200`. */
  subscribeLog(): Promise<string[]>
  stop(): Promise<void>
}

export function nchanInstalled(): string | undefined {
  const missing = [NGINX, MODULE, REDIS].filter((path) => !existsSync(path))
  return missing.length === 0 ? undefined : `missing ${missing.join(', ')}: run .ci/run (apt-get install nginx libnginx-mod-nchan redis-server)`
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts connections on the port; rejects after `ms`. */
async function waitForPort(port: number, child: ChildProcess, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

export async function startNchan(): Promise<Nchan> {
  const problem = nchanInstalled()
  if (problem) throw new Error(problem)
  const dir = await mkdtemp(join(tmpdir(), 'rsse-nchan-'))
  const [port, redisPort] = [await freePort(), await freePort()]
  const template = await readFile(join(import.meta.dirname, '../nchan/nginx.conf'), 'utf8')
  const conf = join(dir, 'nginx.conf')
  await writeFile(conf, template.replaceAll('{{PREFIX}}', dir).replaceAll('{{PORT}}', String(port)).replaceAll('{{REDIS_PORT}}', String(redisPort)))

  const redis = spawn('timeout', [TTL_SECONDS, REDIS, '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  await waitForPort(redisPort, redis, 'redis-server')

  let nginx: ChildProcess
  const startNginx = async () => {
    // `-e`: the error log before the config is read, or nginx tries /var/log/nginx first.
    nginx = spawn('timeout', [TTL_SECONDS, NGINX, '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: 'ignore' })
    await waitForPort(port, nginx, 'nginx')
    // Listening is not ready: until its Redis connection is up, nchan answers 503 to everything.
    const deadline = Date.now() + 10_000
    const status = () => fetch(`http://127.0.0.1:${port}/pub/ready`, { headers: { accept: 'application/json' } }).then((r) => (void r.body?.cancel(), r.status))
    while ((await status()) === 503) {
      if (Date.now() > deadline) throw new Error('nchan did not connect to Redis within 10 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const stopNginx = async () => {
    const pid = Number((await readFile(join(dir, 'nginx.pid'), 'utf8').catch(() => '')).trim())
    if (pid > 0) process.kill(pid, 'SIGTERM')
    await exited(nginx)
  }
  await startNginx()

  const url = `http://127.0.0.1:${port}`
  return {
    url,
    async publish(channel, data, storage = 'redis') {
      const response = await fetch(`${url}${storage === 'memory' ? '/mem' : ''}/pub/${channel}`, { method: 'POST', body: data, headers: { accept: 'application/json' } })
      const text = await response.text()
      if (!response.ok) throw new Error(`nchan publish answered ${response.status}: ${text}`)
      // With `Accept: application/json` nchan describes the channel, the newest message id included.
      return (JSON.parse(text) as { last_message_id: string }).last_message_id
    },
    async restart() {
      await stopNginx()
      await startNginx()
    },
    async subscribeLog() {
      const log = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')
      return log.split('\n').filter((line) => /^GET (\/mem)?\/sub/.test(line))
    },
    async stop() {
      await stopNginx().catch(() => {})
      if (redis.pid !== undefined) redis.kill('SIGTERM')
      await exited(redis)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
