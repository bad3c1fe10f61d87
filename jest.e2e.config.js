/** Browser (headless Debian chromium via playwright-core) and multi-node tests; no database setup. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  setupFiles: ['reflect-metadata'],
  maxWorkers: 1,
  testTimeout: 180000,
};
