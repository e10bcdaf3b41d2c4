import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './../helpers/free-port';
import { waitFor } from './../helpers/wait-for';

const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);

interface DemoProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The built demo as `npm run demo` runs it, with the app's log settings left at the demo's defaults. */
function startDemo(args: string[]): DemoProcess {
  const { LOG_LEVEL: _level, LOG_FORMAT: _format, ...env } = process.env;
  const child = spawn(process.execPath, [join(ROOT, 'dist/scripts/demo.js'), ...args], {
    cwd: ROOT,
    env: { ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      done(exitCode);
    });
  });
  return { child, output: () => output, exited };
}

/** The shell commands under "Where to look", verbatim (continuation lines included). */
function printedCommands(output: string): string[] {
  const lines = output.slice(output.indexOf('Where to look')).split('\n').slice(1);
  const block = lines.slice(
    0,
    lines.findIndex((line) => !line.startsWith('  ')),
  );
  return block
    .join('\n')
    .split(/\n(?= {2}curl )/)
    .map((command) => command.trim());
}

/** `npm run demo` is the README's first command: run the built demo as it runs, on embedded defaults. */
describe('the demo', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'eap-demo-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts the simulator and the platform, drives every tool and the budget refusal, then exits cleanly', async () => {
    const [port, simPort] = [await freePort(), await freePort()];
    const demo = startDemo([
      '--exit',
      '--port',
      String(port),
      '--sim-port',
      String(simPort),
      '--data-dir',
      dataDir,
    ]);
    const code = await demo.exited;
    const output = demo.output();

    // The whole output when it fails: the demo says what went wrong.
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    expect(output).toMatch(/201 What is \(12\.5 \+ 7\.5\) \* 3\?\s+-> success: The result is 60/);
    expect(output).toMatch(/Europe\/Paris\?\s+-> success/);
    expect(output).toMatch(/refunds take\?\s+-> success: .*Refund policy/);
    expect(output).toMatch(/429 after \d+ runs: The daily token budget is exhausted/);
    // One run streamed as server-sent events, its steps as they came.
    expect(output).toMatch(
      /200 What is 6 \* 7, streamed\? \(streamed: text\/event-stream; charset=utf-8\)\n {4}run\.created → step\.started → tool\.started → tool\.completed → step\.completed → step\.started → message\.delta ×\d+ → step\.completed → run\.completed\n {4}-> success: The result is 42\./,
    );
    expect(output).toContain('Where to look');
    expect(output).toContain(`http://127.0.0.1:${port}/metrics`);
    // Answers fit one line and are cut between words, never inside one.
    const answers = [...output.matchAll(/^ {4}-> \w+: (.*)$/gm)].map((match) => match[1]);
    expect(answers).toHaveLength(5);
    for (const answer of answers) {
      expect(answer.length).toBeLessThanOrEqual(100);
      if (answer.endsWith('…')) expect(answer).toMatch(/[^\s,;:]…$/);
    }
    // The app's lines went to the log file it names, as JSON, and none reached the terminal.
    const logFile = join(dataDir, 'platform.log');
    expect(output).toContain(`platform logs in ${logFile}`);
    expect(output).not.toMatch(/"level"|\b(INFO|WARN|ERROR)\b:/);
    const events = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(['http.request.completed', 'budget.exceeded']));
  });

  it('serves until Ctrl-C, and every command it suggests works against it', async () => {
    const [port, simPort] = [await freePort(), await freePort()];
    const demo = startDemo([
      '--port',
      String(port),
      '--sim-port',
      String(simPort),
      '--data-dir',
      dataDir,
    ]);
    try {
      await waitFor(() => demo.output().includes('Serving until Ctrl-C.') || demo.child.exitCode, {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      expect(demo.child.exitCode).toBeNull();
      const commands = printedCommands(demo.output());
      expect(
        commands.map((command) => /\/(metrics|health|v1\/budget|runs)\b/.exec(command)?.[1]),
      ).toEqual(['metrics', 'health', 'v1/budget', 'runs', 'runs']);

      const [metrics, health, budget, agentRun, streamedRun] = await Promise.all(
        commands.map(async (command) => (await run('bash', ['-c', command])).stdout),
      );
      expect(metrics).toMatch(/^llm_tokens_total\{[^}]*model="sim-small"/m);
      expect(metrics).toMatch(/^token_budget_remaining\{/m);
      expect(JSON.parse(health)).toMatchObject({
        components: { database: { status: 'healthy' }, llm_proxy: { status: 'healthy' } },
      });
      expect(JSON.parse(budget)).toMatchObject({ daily: { remaining: expect.any(Number) } });
      expect(
        (JSON.parse(budget) as { daily: { remaining: number } }).daily.remaining,
      ).toBeGreaterThan(0);
      expect(JSON.parse(agentRun)).toMatchObject({
        status: 'success',
        output: 'The result is 42.',
      });
      expect(streamedRun).toMatch(/^event: run\.created\ndata: \{"id":"[0-9a-f-]{36}"/);
      const completed = /event: run\.completed\ndata: (.*)\n\n$/.exec(streamedRun);
      expect(JSON.parse(completed?.[1] ?? 'null')).toMatchObject({
        status: 'success',
        output: 'The result is 42.',
      });
    } finally {
      demo.child.kill('SIGINT');
    }
    expect(await demo.exited).toBe(0);
  });

  describe('with another program on a port it needs', () => {
    let other: Server;
    let otherPort: number;
    let requestsToOther: number;
    beforeEach(async () => {
      requestsToOther = 0;
      // Answers everything with 200, as the program that confused the demo before did.
      other = createServer((_request, response) => {
        requestsToOther += 1;
        response.end('{}');
      });
      await new Promise<void>((listening) => other.listen(0, listening));
      const address = other.address();
      otherPort = typeof address === 'object' && address ? address.port : 0;
    });
    afterEach(() => new Promise((closed) => other.close(closed)));

    it.each(['--port', '--sim-port'])(
      'refuses a busy %s at once, naming it, and never talks to that program',
      async (flag) => {
        const ports = { '--port': await freePort(), '--sim-port': await freePort() };
        ports[flag as keyof typeof ports] = otherPort;
        const demo = startDemo([
          '--exit',
          '--port',
          String(ports['--port']),
          '--sim-port',
          String(ports['--sim-port']),
          '--data-dir',
          dataDir,
        ]);

        const code = await demo.exited;

        expect({ code, output: demo.output() }).toEqual({
          code: 1,
          output: `demo: port ${otherPort} (${flag}) is already in use by another program: stop it, or pick a free port with ${flag} <port>\n`,
        });
        expect(requestsToOther).toBe(0);
        expect(existsSync(join(dataDir, 'platform.log'))).toBe(false);
      },
    );
  });
});
