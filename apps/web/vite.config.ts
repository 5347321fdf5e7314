import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Dev server: the browser talks only to this origin; API prefixes are proxied to the two services.
// Origin / Sec-Fetch-Site pass through unchanged (changeOrigin only rewrites Host), so auth-api's
// ALLOWED_ORIGINS must list the dev origin (http://localhost:5173) for cookie-authenticated writes.
const authApi = process.env.AUTH_API_URL ?? 'http://127.0.0.1:8000';
const chatApi = process.env.CHAT_API_URL ?? 'http://127.0.0.1:8001';

export default defineConfig({
  plugins: [react()],
  server: {
    port: Number(process.env.WEB_DEV_PORT ?? 5173),
    strictPort: true,
    proxy: {
      '/api/auth': { target: authApi, changeOrigin: true },
      '/oauth': { target: authApi, changeOrigin: true },
      '/.well-known': { target: authApi, changeOrigin: true },
      '/api/chat': { target: chatApi, changeOrigin: true, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
});
