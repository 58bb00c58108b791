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

/**
 * Maps a URL path to a file we are willing to serve, or undefined. The path is decoded first and every
 * check runs on the decoded form, each folder its own root: `/examples/..%2fserver%2fauth.mjs` decodes
 * to a path outside `examples/`, so it is refused like the plain `..` it spells.
 */
export function resolveFile(pathname) {
  let decoded
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return undefined
  }
  // A backslash is a separator on Windows; a NUL ends a path in C. Neither belongs in a URL path here.
  if (/[\\\0]/.test(decoded)) return undefined
  let root
  let rest
  if (decoded === '/') {
    root = PLAYGROUND
    rest = 'index.html'
  } else if (/^\/[\w-]+\.html$/.test(decoded)) {
    root = PLAYGROUND
    rest = decoded.slice(1)
  } else {
    const folder = /^\/(dist|app|examples)\/(.+)$/.exec(decoded)
    const vendored = VENDORED.find((dep) => decoded.startsWith(`/vendor/${dep}/`))
    if (folder) {
      root = folder[1] === 'dist' ? DIST : resolve(PLAYGROUND, folder[1])
      rest = folder[2]
    } else if (vendored !== undefined) {
      root = resolve(NODE_MODULES, vendored)
      rest = decoded.slice(`/vendor/${vendored}/`.length)
    } else {
      return undefined
    }
  }
  const file = resolve(root, rest)
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
