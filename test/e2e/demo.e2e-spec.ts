import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './../helpers/free-port';

const ROOT = resolve(__dirname, '../..');

/** `npm run demo` is the README's first command: run the built demo as it runs, on embedded defaults. */
describe('the demo', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'eap-demo-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts the simulator and the platform, drives every tool and the budget refusal, then exits cleanly', async () => {
    const [port, simPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'dist/scripts/demo.js'),
        '--exit',
        '--port',
        String(port),
        '--sim-port',
        String(simPort),
        '--data-dir',
        dataDir,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: 'error', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        done(exitCode);
      });
    });
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toMatch(/201 What is \(12\.5 \+ 7\.5\) \* 3\?\s+-> success: The result is 60/);
    expect(output).toMatch(/Europe\/Paris\?\s+-> success/);
    expect(output).toMatch(/refunds take\?\s+-> success: .*Refund policy/);
    expect(output).toMatch(/429 after \d+ more runs: The daily token budget is exhausted/);
    expect(output).toContain('Where to look');
    expect(output).toContain(`http://127.0.0.1:${port}/metrics`);
  });
});
