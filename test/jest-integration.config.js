const base = require('./jest.base');

module.exports = {
  ...base,
  displayName: 'integration',
  testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
};
