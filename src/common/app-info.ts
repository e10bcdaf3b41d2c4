import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readVersion(): string {
  // Works from src/ (ts-jest) and dist/src/ alike: walk up to the package.json.
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'enterprise-agent-platform' && pkg.version) return pkg.version;
    } catch {
      // try the next level
    }
  }
  return '0.0.0';
}

export const APP_NAME = 'enterprise-agent-platform';
export const APP_VERSION = readVersion();
