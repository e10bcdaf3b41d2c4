import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Logger, PinoLogger } from 'nestjs-pino';
import { captureLogs } from '../../../test/helpers/log-capture';
import { loadConfig } from '../../config';
import { LoggingModule } from './logging.module';
import { createRootLogger, ROOT_LOGGER } from './root-logger';

@Injectable()
class FirstUser {
  constructor(readonly logger: PinoLogger) {
    logger.setContext('FirstUser');
  }
}

@Injectable()
class SecondUser {
  constructor(readonly logger: PinoLogger) {
    logger.setContext('SecondUser');
  }
}

describe(LoggingModule.name, () => {
  async function moduleWithCapture() {
    const logs = captureLogs();
    const root = createRootLogger(
      loadConfig({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' }),
      logs.destination,
    );
    const moduleRef = await Test.createTestingModule({
      imports: [LoggingModule.forRoot(root)],
      providers: [FirstUser, SecondUser],
    }).compile();
    return { moduleRef, logs, root };
  }

  it('provides the root logger and a Nest Logger writing to it', async () => {
    const { moduleRef, logs, root } = await moduleWithCapture();
    expect(moduleRef.get(ROOT_LOGGER)).toBe(root);
    moduleRef.get(Logger).log({ event: 'app.started', port: 1 }, 'Listening', 'Bootstrap');
    expect(logs.lines()).toEqual([
      expect.objectContaining({ event: 'app.started', context: 'Bootstrap', message: 'Listening' }),
    ]);
  });

  it('gives each injection its own PinoLogger, so contexts stay apart', async () => {
    const { moduleRef, logs } = await moduleWithCapture();
    moduleRef.get(FirstUser).logger.info({ event: 'a' });
    moduleRef.get(SecondUser).logger.info({ event: 'b' });
    expect(logs.lines().map((line) => line.context)).toEqual(['FirstUser', 'SecondUser']);
  });
});
