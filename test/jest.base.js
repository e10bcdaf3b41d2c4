// Shared by the three tiers. ts-jest only transpiles (tsc --noEmit type-checks
// separately), and Node's require(esm) loads the ESM-only NestJS 12 packages,
// which jest allows under --experimental-vm-modules (set in package.json).
const path = require('node:path');

module.exports = {
  rootDir: path.resolve(__dirname, '..'),
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  setupFiles: ['<rootDir>/test/setup-env.js'],
};
