import { startTestApp } from '../../helpers/app';
import { captureLogs } from '../../helpers/log-capture';

describe('start-up logging', () => {
  let stdoutWrite: jest.SpyInstance;
  let stderrWrite: jest.SpyInstance;
  beforeEach(() => {
    stdoutWrite = jest.spyOn(process.stdout, 'write');
    stderrWrite = jest.spyOn(process.stderr, 'write');
  });
  afterEach(() => jest.restoreAllMocks());

  it('writes Nest’s own start-up lines as JSON through pino, not its console logger', async () => {
    const logs = captureLogs();
    const app = await startTestApp(
      { LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      { logDestination: logs.destination },
    );
    await app.close();
    expect(logs.lines()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'info',
          event: 'log',
          context: 'NestFactory',
          message: 'Starting Nest application...',
        }),
      ]),
    );
    expect(stdoutWrite).not.toHaveBeenCalled();
    expect(stderrWrite).not.toHaveBeenCalled();
  });

  it('logs a failed start (database unreachable) as JSON lines with the stack', async () => {
    const logs = captureLogs();
    await expect(
      startTestApp(
        {
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
          DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
        },
        { logDestination: logs.destination },
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
    const errors = logs.lines().filter((line) => line.level === 'error');
    expect(errors).toContainEqual(
      expect.objectContaining({
        context: 'TypeOrmModule',
        err: expect.objectContaining({ stack: expect.stringContaining('ECONNREFUSED') }),
      }),
    );
    expect(stdoutWrite).not.toHaveBeenCalled();
    expect(stderrWrite).not.toHaveBeenCalled();
  });
});
