/**
 * The browser visualizer's build (npm run build:web): src/web is the page, the model is the same src/
 * the CLI runs, and the output is a static site in dist/site that any static host serves (relative
 * URLs). Paths are absolute so `mmsim web` builds the same from any directory.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./src/web'),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  worker: { format: 'es' },
  build: {
    outDir: here('./dist/site'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
  },
  server: { fs: { allow: [here('.')] } },
  logLevel: 'warn',
});
