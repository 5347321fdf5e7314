import { defineConfig } from 'vitest/config';

// `npm test`: the services' unit and integration tests (real HTTP, real auth-api behind chat-api) and
// the web client's browser tests (real Chromium against the real platform). Fault tests are separate
// (tests/faults, `npm run test:platform`): they restart the machine's PostgreSQL.
export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'services',
          include: [
            'packages/*/src/**/*.test.ts',
            'apps/*/src/**/*.test.ts',
            'apps/*/test/**/*.test.ts',
            'tests/**/*.test.ts',
          ],
          // The web client's unit tests (state, protocol) run here; its browser tests in web-e2e.
          exclude: ['**/node_modules/**', 'apps/web/e2e/**', 'tests/faults/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      './apps/web/vitest.e2e.config.ts',
    ],
  },
});
