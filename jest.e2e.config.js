/** Browser (headless Debian chromium via playwright-core) and multi-node tests. */
module.exports = {
  ...require('./jest.config'),
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 120000,
};
