/**
 * Vite build of the manager UI. The same bundle serves the Electron window
 * (loaded from disk, hence relative asset URLs via `base: './'`) and the
 * browser mode of `popek serve` (served from `dist/renderer/`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const rendererRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: rendererRoot,
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // Everything is local; one modern target (Chromium of Electron 41 and current browsers).
    target: 'es2022',
    // The CSP forbids inline scripts, so Vite must not inline the modulepreload polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
    // The Vue transform dominates this small build on a shared 2-core machine; the timing report is noise.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: { host: '127.0.0.1' },
});
