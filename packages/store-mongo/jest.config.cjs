// Unit tests need nothing. The server suites (test/*.int.test.ts) use MONGO_URL, or a MongoDB that
// the global setup starts with testcontainers where a container runtime exists.
module.exports = {
  ...require('../../jest.preset.cjs'),
  globalSetup: '<rootDir>/test/mongo-global-setup.cjs',
  globalTeardown: '<rootDir>/test/mongo-global-teardown.cjs',
};
