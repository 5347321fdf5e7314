import { defineConfig } from 'vitest/config';

// Fault tests kill processes and restart the machine's PostgreSQL: one file at a time, never in `npm test`.
export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    root: new URL('../..', import.meta.url).pathname,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
