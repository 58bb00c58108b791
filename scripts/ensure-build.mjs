// Builds dist/ once when it is missing or older than src/, so `npm run playground` and
// `npm run bench` work straight after `npm install` on a fresh clone.
import { execSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = join(dir, e.name)
    return Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }, 0)

const built = existsSync('dist/index.js') && existsSync('dist/resumable-sse.global.js')
if (!built || newest('src') > statSync('dist/index.js').mtimeMs) {
  execSync('npx tsup', { stdio: 'inherit' })
}
