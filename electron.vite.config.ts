// One build for the three parts: main (Electron entry + the plain-Node CLI/server entry),
// preload (CommonJS, as sandboxed preloads require) and the Svelte renderer.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve('src/main/electron/main.ts'),
          cli: resolve('src/main/cli/index.ts'),
          'import-worker': resolve('src/main/import/worker.ts'),
          'import-reader': resolve('src/main/import/reader.ts'),
          'inference-worker': resolve('src/main/inference/worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    plugins: [svelte({ configFile: resolve('svelte.config.js') })],
    build: {
      rollupOptions: { input: resolve('src/renderer/index.html') },
    },
  },
});
