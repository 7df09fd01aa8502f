/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

// `TETHER_WEB_OUT` is where `crates/tether-web/build.rs` wants the build (its OUT_DIR);
// `TETHER_API` is the `tether serve` the dev server forwards API calls to.
const api = process.env.TETHER_API ?? 'http://127.0.0.1:8800';

export default defineConfig({
  // `svelteTesting` acts under vitest only: Svelte's browser build and a clean DOM per test for
  // component tests (those files ask for `// @vitest-environment jsdom`).
  plugins: [svelte(), svelteTesting()],
  build: {
    outDir: process.env.TETHER_WEB_OUT ?? 'dist',
    emptyOutDir: true,
    // Under the server's CSP (`default-src 'self'`) nothing may be inlined as a data: URL.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/oauth': { target: api, changeOrigin: false },
      '/hooks': { target: api, changeOrigin: false },
      // A login link (`/login?token=…`) is the server's; `/login` alone is the app's page.
      '^/login\\?token=': { target: api, changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
