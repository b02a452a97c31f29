/**
 * The browser visualizer's build (npm run build:web): src/web is the page, the model is the same src/
 * the CLI runs, and the output is a static site in dist/web that any static host serves (relative URLs).
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src/web',
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  worker: { format: 'es' },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
  },
  server: { fs: { allow: ['../..'] } },
  logLevel: 'warn',
});
