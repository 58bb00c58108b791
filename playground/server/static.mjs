// Files: the playground's own pages and scripts, the built library under /dist/, and the library's
// runtime dependencies under /vendor/<name>/ (the page's import map points the bare specifiers in
// dist/*.js there, as a bundler would). Nothing else is reachable; a path that resolves outside those
// folders is a 404.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const PLAYGROUND = fileURLToPath(new URL('..', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist', import.meta.url))
const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url))

/** Only what the library itself depends on (package.json "dependencies") is served from node_modules. */
const VENDORED = Object.keys(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).dependencies ?? {})

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** Maps a URL path to a file we are willing to serve, or undefined. */
export function resolveFile(pathname) {
  let root
  let rest
  if (pathname === '/') {
    root = PLAYGROUND
    rest = 'index.html'
  } else if (pathname.startsWith('/dist/')) {
    root = DIST
    rest = pathname.slice('/dist/'.length)
  } else if (pathname.startsWith('/vendor/')) {
    const name = VENDORED.find((dep) => pathname.startsWith(`/vendor/${dep}/`))
    if (name === undefined) return undefined
    root = resolve(NODE_MODULES, name)
    rest = pathname.slice(`/vendor/${name}/`.length)
  } else if (pathname.startsWith('/app/') || pathname.startsWith('/examples/') || /^\/[\w-]+\.html$/.test(pathname)) {
    root = PLAYGROUND
    rest = pathname.slice(1)
  } else {
    return undefined
  }
  let decoded
  try {
    decoded = decodeURIComponent(rest)
  } catch {
    return undefined
  }
  const file = resolve(root, decoded)
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : undefined
}

export async function serveFile(pathname, res) {
  const file = resolveFile(pathname)
  const type = file && TYPES[extname(file)]
  if (!file || !type) return notFound(res)
  let body
  try {
    body = await readFile(file)
  } catch {
    return notFound(res, pathname.startsWith('/dist/') ? 'dist/ is not built: run `npx tsup` (npm run playground does it for you)' : undefined)
  }
  // no-store: after a rebuild the page must pick up the new dist/ on a plain reload.
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'content-length': body.length })
  res.end(body)
}

function notFound(res, hint) {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(hint ?? 'not found')
}
