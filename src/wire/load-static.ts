// The CDN build's `load.ts`: the IIFE is one file anyway, so a static import spares esbuild's wrappers.
import { parseRetryAfter } from '../supervisor/retry-after.js'

export const loadRetryAfter = async () => ({ parseRetryAfter })
