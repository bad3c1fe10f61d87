import path from 'node:path';
import { defineConfig } from 'vite';

/** The browser app, built into dist/web and served by express. */
export default defineConfig({
  root: __dirname,
  base: '/',
  build: { outDir: path.resolve(__dirname, '../../dist/web'), emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/health': 'http://127.0.0.1:3000',
      '/socket.io': { target: 'ws://127.0.0.1:3000', ws: true },
    },
  },
});
