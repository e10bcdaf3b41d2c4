const base = require('./jest.base');

module.exports = {
  ...base,
  displayName: 'e2e',
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts', '<rootDir>/test/resilience/**/*.e2e-spec.ts'],
  testTimeout: 90000,
  maxWorkers: 2,
  globalSetup: '<rootDir>/test/e2e-global-setup.js',
};
