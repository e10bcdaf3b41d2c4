// Builds dist/ once before the e2e tier: tests that need a real process (SIGTERM,
// the OpenTelemetry preload, the demo) spawn the built app exactly as production runs it.
// Type errors are the type-check step's business (npm test runs it first); here only
// a missing output is fatal.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

module.exports = async function buildOnce() {
  const root = path.resolve(__dirname, '..');
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (!existsSync(path.join(root, 'dist/src/main.js'))) {
    throw new Error(
      `e2e setup: the build produced no dist/src/main.js\n${result.stdout}${result.stderr}`,
    );
  }
};
