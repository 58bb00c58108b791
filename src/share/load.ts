/**
 * Loads the share code on the first `shareAcrossTabs` subscription: a separate chunk for any bundler
 * that splits code, so a plain `import { subscribe }` does not carry it. The CDN build, a single file,
 * swaps this module for `load-static.ts` (see tsup.config.ts): no lazy-module wrappers there.
 */
export const loadShare = () => import('./source.js')
