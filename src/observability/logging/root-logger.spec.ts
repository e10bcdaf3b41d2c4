import { Logger as NestLogger } from '@nestjs/common';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { Logger } from 'nestjs-pino';
import { captureLogs, LogCapture } from '../../../test/helpers/log-capture';
import { loadConfig } from '../../config';
import {
  bindAgentContext,
  bindTenantContext,
  bindUserContext,
  newRequestContext,
  runWithRequestContext,
} from '../context';
import { AppPinoLogger } from './app-pino.logger';
import { createRootLogger, RootLogger } from './root-logger';

function jsonLogger(env: Record<string, string> = {}): { logger: RootLogger; logs: LogCapture } {
  const logs = captureLogs();
  const config = loadConfig({ LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env });
  return { logger: createRootLogger(config, logs.destination), logs };
}

describe('createRootLogger', () => {
  it('writes the documented line: ISO UTC timestamp, level word, event, message', () => {
    const { logger, logs } = jsonLogger();
    logger.info({ event: 'app.started', port: 8000 }, 'Listening');
    const [line] = logs.lines();
    expect(line).toEqual({
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      event: 'app.started',
      port: 8000,
      message: 'Listening',
    });
  });

  it('files lines without an event under "log" and gives field-only lines their event as message', () => {
    const { logger, logs } = jsonLogger();
    logger.warn('plain text');
    logger.info({ event: 'budget.exceeded' });
    expect(logs.lines()).toEqual([
      expect.objectContaining({ level: 'warn', event: 'log', message: 'plain text' }),
      expect.objectContaining({ event: 'budget.exceeded', message: 'budget.exceeded' }),
    ]);
  });

  it('logs an error once with its stack under err', () => {
    const { logger, logs } = jsonLogger();
    logger.error({ event: 'llm.request.failed', err: new Error('upstream 500') }, 'LLM failed');
    const [line] = logs.lines();
    expect(line).toMatchObject({
      level: 'error',
      message: 'LLM failed',
      err: { type: 'Error', message: 'upstream 500', stack: expect.stringContaining('\n    at ') },
    });
  });

  it('stamps the request context fields bound in the same async context', async () => {
    const { logger, logs } = jsonLogger();
    await runWithRequestContext(newRequestContext('req-1'), async () => {
      logger.info({ event: 'before' });
      await Promise.resolve();
      bindTenantContext('tenant-a');
      bindUserContext('user-a');
      bindAgentContext('agent-a', 'react');
      await new Promise((resolve) => setImmediate(resolve));
      logger.info({ event: 'after' });
    });
    logger.info({ event: 'outside' });
    const [before, after, outside] = logs.lines();
    expect(before).toMatchObject({ request_id: 'req-1' });
    expect(before).not.toHaveProperty('tenant_id');
    expect(after).toMatchObject({
      request_id: 'req-1',
      tenant_id: 'tenant-a',
      user_id: 'user-a',
      agent_id: 'agent-a',
    });
    expect(outside).not.toHaveProperty('request_id');
  });

  it('never carries one concurrent context’s tenant onto another’s lines', async () => {
    const { logger, logs } = jsonLogger();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runWithRequestContext(newRequestContext(`req-${i}`), async () => {
          bindTenantContext(`tenant-${i % 2}`);
          for (let step = 0; step < 3; step++) {
            await new Promise((resolve) => setImmediate(resolve));
            logger.info({ event: 'step', i });
          }
        }),
      ),
    );
    const lines = logs.lines();
    expect(lines).toHaveLength(150);
    for (const line of lines) {
      expect(line.request_id).toBe(`req-${String(line.i)}`);
      expect(line.tenant_id).toBe(`tenant-${Number(line.i) % 2}`);
    }
  });

  it('lets explicit fields win over the context ones', () => {
    const { logger, logs } = jsonLogger();
    runWithRequestContext(newRequestContext('req-ctx'), () => {
      logger.info({ event: 'x', request_id: 'req-explicit' });
    });
    expect(logs.lines()[0].request_id).toBe('req-explicit');
  });

  describe('with an active span', () => {
    const contextManager = new AsyncLocalStorageContextManager();
    beforeAll(() => context.setGlobalContextManager(contextManager.enable()));
    afterAll(() => context.disable());

    const span = (spanId: string, traceFlags: number) =>
      trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId, traceFlags });

    it('reads trace_id and span_id of the span active at the moment of logging', async () => {
      const { logger, logs } = jsonLogger();
      const outer = span('1'.repeat(16), TraceFlags.SAMPLED);
      const inner = span('2'.repeat(16), TraceFlags.SAMPLED);
      await context.with(trace.setSpan(context.active(), outer), async () => {
        logger.info({ event: 'outer.before' });
        await context.with(trace.setSpan(context.active(), inner), async () => {
          await Promise.resolve();
          logger.info({ event: 'inner' });
        });
        logger.info({ event: 'outer.after' });
      });
      logger.info({ event: 'no.span' });
      const byEvent = Object.fromEntries(logs.lines().map((line) => [line.event, line]));
      expect(byEvent['outer.before']).toMatchObject({
        trace_id: 'a'.repeat(32),
        span_id: '1'.repeat(16),
      });
      expect(byEvent.inner).toMatchObject({ trace_id: 'a'.repeat(32), span_id: '2'.repeat(16) });
      expect(byEvent['outer.after']).toMatchObject({ span_id: '1'.repeat(16) });
      expect(byEvent['no.span']).not.toHaveProperty('trace_id');
    });

    it('leaves out the ids of an unsampled span', () => {
      const { logger, logs } = jsonLogger();
      context.with(trace.setSpan(context.active(), span('3'.repeat(16), TraceFlags.NONE)), () =>
        logger.info({ event: 'unsampled' }),
      );
      expect(logs.lines()[0]).not.toHaveProperty('trace_id');
      expect(logs.lines()[0]).not.toHaveProperty('span_id');
    });
  });

  it('turns CRLF, ANSI escapes and a 1 MB string into one escaped, truncated line', () => {
    const { logger, logs } = jsonLogger();
    const hostile = `line1\r\nfake {"level":"error"}\u001b[31mred\u001b[0m${'x'.repeat(1024 * 1024)}`;
    logger.info({ event: 'tool.execute.completed', query: hostile }, 'Tool done');
    expect(logs.raw).toHaveLength(1);
    const [chunk] = logs.raw;
    expect(chunk.length).toBeLessThan(4096);
    expect(chunk.indexOf('\n')).toBe(chunk.length - 1);
    expect(chunk).not.toContain('\r');
    expect(chunk).not.toContain('\u001b');
    expect(chunk).toContain('line1\\r\\nfake');
    expect(chunk).toContain('\\u001b[31m');
    expect(logs.lines()[0].query).toMatch(/truncated \d+ chars\]$/);
  });

  it('bounds an oversized message too', () => {
    const { logger, logs } = jsonLogger();
    logger.info({ event: 'x' }, 'm'.repeat(100_000));
    expect(logs.raw[0].length).toBeLessThan(2048);
  });

  it('writes nothing with LOG_LEVEL=silent', () => {
    const { logger, logs } = jsonLogger({ LOG_LEVEL: 'silent' });
    logger.fatal({ event: 'x' }, 'never');
    expect(logs.raw).toHaveLength(0);
  });

  it('redacts prompt text unless content capture is on', () => {
    const off = jsonLogger();
    off.logger.info({ event: 'x', prompt: 'tell me a secret' });
    expect(off.logs.raw[0]).not.toContain('tell me a secret');
    const on = jsonLogger({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' });
    on.logger.info({ event: 'x', prompt: 'tell me a secret' });
    expect(on.logs.raw[0]).toContain('tell me a secret');
  });
});

describe('nestjs-pino Logger on the root logger', () => {
  it('turns an object first argument into fields and the string into message, with the context', () => {
    const { logger, logs } = jsonLogger();
    const adapter = new Logger(new AppPinoLogger(logger), {});
    NestLogger.overrideLogger(adapter);
    const domainLogger = new NestLogger('AgentRunner');
    domainLogger.log({ event: 'agent.execute.started', model: 'm' }, 'Starting agent execution');
    domainLogger.error({ event: 'agent.execute.failed', err: new Error('boom') }, 'Agent failed');
    domainLogger.warn('no fields');
    domainLogger.log({ event: 'fields.only' });
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        level: 'info',
        event: 'agent.execute.started',
        model: 'm',
        context: 'AgentRunner',
        message: 'Starting agent execution',
      }),
      expect.objectContaining({
        level: 'error',
        event: 'agent.execute.failed',
        message: 'Agent failed',
        err: expect.objectContaining({ message: 'boom', stack: expect.any(String) }),
      }),
      expect.objectContaining({ level: 'warn', event: 'log', message: 'no fields' }),
      expect.objectContaining({ event: 'fields.only', message: 'fields.only' }),
    ]);
  });

  it('keeps two applications’ loggers apart (nestjs-pino’s own root is process-wide)', () => {
    const first = jsonLogger();
    const second = jsonLogger();
    new AppPinoLogger(first.logger).info({ event: 'first' });
    new AppPinoLogger(second.logger).info({ event: 'second' });
    expect(first.logs.lines().map((line) => line.event)).toEqual(['first']);
    expect(second.logs.lines().map((line) => line.event)).toEqual(['second']);
  });
});
