// Bearer tokens for the feed. One current token at a time: `rotate()` (the auth fault) revokes it, so
// a client keeps getting 401 until it fetches the new one from `POST /token`, which is exactly the
// path `refreshAuth` exists for.
import { randomBytes } from 'node:crypto'

export class Tokens {
  #current = Tokens.#mint()
  #rotations = 0

  static #mint() {
    return `demo-${randomBytes(9).toString('base64url')}`
  }

  get current() {
    return this.#current
  }

  get rotations() {
    return this.#rotations
  }

  rotate() {
    this.#current = Tokens.#mint()
    this.#rotations++
    return this.#current
  }

  /** Accepts `Authorization: Bearer <token>`, or `?token=` for a quick look with curl. */
  accepts(req, url) {
    const header = req.headers.authorization
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : url.searchParams.get('token')
    return presented === this.#current
  }
}
