/**
 * Loads the `Retry-After` HTTP-date parser the first time a server sends a date instead of
 * delta-seconds (rare: 429/503 answers almost always carry seconds): a separate chunk for any bundler
 * that splits code. The CDN build swaps this module for `load-static.ts` (see tsup.config.ts).
 */
export const loadRetryAfter = () => import('../supervisor/retry-after.js')
