// The CDN build's `load.ts`: the IIFE is one file anyway, and a static import spares esbuild's wrappers
// for lazily evaluated modules (~0.5 kB min+gz).
import { SharedSource } from './source.js'

export const loadShare = async () => ({ SharedSource })
