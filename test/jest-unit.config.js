const base = require('./jest.base');

module.exports = {
  ...base,
  displayName: 'unit',
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/tools/**/*.spec.ts',
    '<rootDir>/bench/**/*.spec.ts',
    '<rootDir>/scripts/**/*.spec.ts',
  ],
};
