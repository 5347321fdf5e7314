import { defineConfig } from 'vitest/config';

// Fault tests kill processes and restart their own PostgreSQL and Redis (tests/support/infra.ts): one file at a
// time (they are heavy on two cores), never in `npm test`.
export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    root: new URL('../..', import.meta.url).pathname,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
