import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../helpers/deploy-artefacts';
import { waitFor } from '../../helpers/wait-for';

const SCRIPT = join(REPO_ROOT, 'scripts/ensure-services.sh');

/**
 * An apt-get stand-in first on PATH: it records its arguments and what the
 * policy-rc.d in force answers while it runs, then exits FAKE_APT_EXIT
 * (after FAKE_APT_SLEEP seconds, so a test can interrupt it).
 */
const FAKE_APT_GET = `#!/usr/bin/env bash
if [ -x "$POLICY_RC_D" ]; then "$POLICY_RC_D" prometheus start; policy=$?; else policy=absent; fi
echo "$* | policy-rc.d: $policy" >> "$FAKE_APT_LOG"
if [ "$1" = install ]; then sleep "\${FAKE_APT_SLEEP:-0}"; exit "\${FAKE_APT_EXIT:-0}"; fi
`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

describe('scripts/ensure-services.sh install_packages', () => {
  let dir: string;
  let policyRcD: string;
  let aptLog: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eap-ensure-services-'));
    policyRcD = join(dir, 'policy-rc.d');
    aptLog = join(dir, 'apt.log');
    writeFileSync(join(dir, 'apt-get'), FAKE_APT_GET);
    chmodSync(join(dir, 'apt-get'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Sources the script (which then runs nothing) and calls install_packages with the packages. */
  function startInstall(packages: string[], env: Record<string, string> = {}) {
    const child = spawn(
      'bash',
      ['-c', `set -euo pipefail; source "${SCRIPT}"; install_packages "$@"`, 'bash', ...packages],
      {
        env: {
          ...process.env,
          PATH: `${dir}:${process.env.PATH}`,
          POLICY_RC_D: policyRcD,
          FAKE_APT_LOG: aptLog,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so an interrupt reaches the subshell and apt-get as Ctrl-C would.
        detached: true,
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const done = new Promise<Run>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, output })),
    );
    return { child, done };
  }

  const aptCalls = (): string[] => readFileSync(aptLog, 'utf8').trim().split('\n');

  it('installs every package named, with a policy-rc.d that refuses daemon starts, then removes it', async () => {
    const run = await startInstall(['prometheus', 'golang-go']).done;

    expect(run).toMatchObject({ code: 0 });
    expect(aptCalls()).toEqual([
      'update -qq | policy-rc.d: 101',
      'install -y -qq --no-install-recommends prometheus golang-go | policy-rc.d: 101',
    ]);
    expect(existsSync(policyRcD)).toBe(false);
  });

  it("puts the machine's own policy-rc.d back, unchanged", async () => {
    const own = "#!/bin/sh\n# the administrator's policy\nexit 0\n";
    writeFileSync(policyRcD, own);
    chmodSync(policyRcD, 0o750);

    const run = await startInstall(['prometheus']).done;

    expect(run).toMatchObject({ code: 0 });
    expect(aptCalls()[1]).toBe(
      'install -y -qq --no-install-recommends prometheus | policy-rc.d: 101',
    );
    expect(readFileSync(policyRcD, 'utf8')).toBe(own);
    expect(statSync(policyRcD).mode & 0o777).toBe(0o750);
  });

  it('fails when apt-get fails, and still restores policy-rc.d', async () => {
    writeFileSync(policyRcD, '#!/bin/sh\nexit 0\n');
    chmodSync(policyRcD, 0o755);

    const run = await startInstall(['no-such-package'], { FAKE_APT_EXIT: '100' }).done;

    expect(run.code).toBe(100);
    expect(readFileSync(policyRcD, 'utf8')).toBe('#!/bin/sh\nexit 0\n');
  });

  it('removes its policy-rc.d when the install is interrupted', async () => {
    const install = startInstall(['prometheus'], { FAKE_APT_SLEEP: '30' });
    await waitFor(() => existsSync(aptLog) && aptCalls().length === 2, { timeoutMs: 10_000 });
    expect(existsSync(policyRcD)).toBe(true);

    process.kill(-install.child.pid!, 'SIGTERM');
    const run = await install.done;

    expect(run.code === 0).toBe(false);
    // The outer shell dies at once; the subshell restores on its way out.
    await waitFor(() => !existsSync(policyRcD), { timeoutMs: 5000 });
  });
});
