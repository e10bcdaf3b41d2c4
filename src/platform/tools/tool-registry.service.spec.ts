import { sampleValue } from '../../../test/helpers/metrics';
import { startObservedModule } from '../../../test/helpers/observability';
import type { ObservedModule } from '../../../test/helpers/observability';
import { KnowledgeService } from '../knowledge';
import { CalculatorTool } from './calculator/calculator.tool';
import { CurrentTimeTool } from './current-time/current-time.tool';
import { KbSearchTool } from './kb-search/kb-search.tool';
import { ToolRegistry } from './tool-registry.service';
import { TOOL_NAMES, ToolContext } from './tool.types';

const CONTEXT: ToolContext = {
  tenantId: '11111111-1111-1111-1111-111111111111',
  callId: 'call_abc',
};

/** The module of the test in progress: its logs and metrics. */
let observed: ObservedModule | undefined;

/** The registry and its tools built by Nest with the observers, the knowledge base replaced by `search`. */
async function setup(search: jest.Mock = jest.fn().mockResolvedValue([])) {
  observed = await startObservedModule({
    providers: [
      ToolRegistry,
      CalculatorTool,
      CurrentTimeTool,
      KbSearchTool,
      { provide: KnowledgeService, useValue: { search } },
    ],
  });
  return { registry: observed.get(ToolRegistry), observed, search };
}

/** tool_calls_total of one tool and outcome. */
async function toolCalls(toolName: string, success: boolean): Promise<number | undefined> {
  return sampleValue(await observed!.samples(), 'tool_calls_total', {
    tool_name: toolName,
    success: String(success),
  });
}

describe(ToolRegistry.name, () => {
  afterEach(async () => {
    jest.restoreAllMocks();
    jest.useRealTimers();
    await observed?.close();
    observed = undefined;
  });

  it('registers exactly the tools of TOOL_NAMES', async () => {
    const { registry } = await setup();
    expect(registry.names().sort()).toEqual([...TOOL_NAMES].sort());
    for (const name of TOOL_NAMES) expect(registry.get(name)?.name).toBe(name);
    expect(registry.get('shell')).toBeUndefined();
  });

  it('builds OpenAI tool schemas in the requested order', async () => {
    const schemas = (await setup()).registry.schemasFor(['kb_search', 'calculator']);
    expect(schemas.map((schema) => schema.function.name)).toEqual(['kb_search', 'calculator']);
    expect(schemas[1]).toEqual({
      type: 'function',
      function: {
        name: 'calculator',
        description: expect.any(String),
        parameters: expect.objectContaining({ required: ['expression'] }),
      },
    });
    expect(schemas[0].function.parameters).toMatchObject({
      properties: { query: { type: 'string' }, limit: { type: 'integer' } },
    });
  });

  it('refuses schemas for an unregistered tool', async () => {
    const { registry } = await setup();
    expect(() => registry.schemasFor(['calculator', 'shell'])).toThrow('Unknown tool: shell');
  });

  it('runs a tool, records the call and logs it without the arguments', async () => {
    const { registry } = await setup();
    const outcome = await registry.execute(
      'calculator',
      '{"expression":"(2+3)*4"}',
      CONTEXT,
      TOOL_NAMES,
    );
    expect(outcome).toEqual({ result: '20', success: true });
    expect(await toolCalls('calculator', true)).toBe(1);
    expect(observed!.logs.events('tool.execute.completed')).toEqual([
      expect.objectContaining({
        level: 'info',
        tool_name: 'calculator',
        success: true,
        duration_ms: expect.any(Number),
        tool_call_id: 'call_abc',
      }),
    ]);
    expect(observed!.logs.raw.join('')).not.toContain('(2+3)*4');
  });

  it.each([
    ['not JSON', 'calculator', '{"expression":', 'Error: the arguments are not valid JSON'],
    ['a JSON array', 'calculator', '[1]', 'Error: the arguments must be a JSON object'],
    ['a missing argument', 'calculator', '{}', 'Error: "expression" must be a string'],
    ['a ToolError', 'calculator', '{"expression":"1/0"}', 'Error: Division by zero'],
    [
      'a NUL in a search (PostgreSQL refuses it)',
      'kb_search',
      '{"query":"refunds\\u0000"}',
      'Error: "query" must not contain NUL characters',
    ],
    [
      'hostile input',
      'calculator',
      '{"expression":"process.exit(1)"}',
      'Error: Unexpected character',
    ],
  ])('turns %s into an error result instead of throwing', async (_case, name, args, message) => {
    const { registry } = await setup();
    const outcome = await registry.execute(name, args, CONTEXT, TOOL_NAMES);
    expect(outcome.success).toBe(false);
    expect(outcome.result.startsWith(message)).toBe(true);
    expect(await toolCalls(name, false)).toBe(1);
    expect(observed!.logs.events('tool.execute.failed')).toEqual([
      expect.objectContaining({
        level: 'warn',
        success: false,
        tool_call_id: 'call_abc',
      }),
    ]);
  });

  it.each([
    ['a registered tool the agent does not list', 'kb_search', 'kb_search', 'not_allowed'],
    ['a tool nobody registered', 'shell', '_unknown', 'unknown_tool'],
  ])(
    'refuses %s: never runs it, answers the model, counts and logs the refusal',
    async (_case, name, label, reason) => {
      const search = jest.fn().mockResolvedValue([{ title: 'Secret', snippet: 'ZEBRA' }]);
      const { registry } = await setup(search);
      const outcome = await registry.execute(name, '{"query":"x"}', CONTEXT, ['calculator']);
      expect(outcome).toEqual({
        result: `Error: tool ${name} is not available to this agent`,
        success: false,
      });
      expect(search).not.toHaveBeenCalled();
      expect(await toolCalls(label, false)).toBe(1);
      expect(observed!.logs.events('tool.execute.refused')).toEqual([
        expect.objectContaining({
          level: 'warn',
          tool_name: label,
          requested_name: name,
          reason,
          success: false,
          tool_call_id: 'call_abc',
        }),
      ]);
      expect(observed!.logs.events('tool.execute.failed')).toEqual([]);
    },
  );

  it('folds unknown tool names into one metric label and shortens what it echoes', async () => {
    const { registry } = await setup();
    const long = await registry.execute('x'.repeat(500), '{}', CONTEXT, TOOL_NAMES);
    await registry.execute('y', '{}', CONTEXT, TOOL_NAMES);
    expect(await toolCalls('_unknown', false)).toBe(2);
    expect(long.result).toBe(`Error: tool ${'x'.repeat(64)}... is not available to this agent`);
  });

  it('hides internal error details from the model but logs them', async () => {
    const search = jest.fn().mockRejectedValue(new Error('connect ECONNREFUSED 10.0.0.5:5432'));
    const { registry } = await setup(search);
    const outcome = await registry.execute('kb_search', '{"query":"refunds"}', CONTEXT, TOOL_NAMES);
    expect(outcome).toEqual({
      result: 'Error: the kb_search tool failed unexpectedly; try again later',
      success: false,
    });
    expect(observed!.logs.events('tool.execute.crashed')).toEqual([
      expect.objectContaining({ level: 'error', tool_name: 'kb_search' }),
    ]);
  });

  it('treats empty arguments as an empty object', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-01T12:00:00Z') });
    const outcome = await (await setup()).registry.execute('current_time', '', CONTEXT, TOOL_NAMES);
    expect(outcome).toEqual({ result: '2026-03-01T12:00:00Z (UTC)', success: true });
  });

  describe('kb_search', () => {
    it("searches the calling tenant's documents with the default limit", async () => {
      const search = jest.fn().mockResolvedValue([
        { id: 'd1', title: 'Refunds', snippet: 'Refunds take **five**\n business days', rank: 0.5 },
        { id: 'd2', title: 'Shipping', snippet: 'Ships in two days', rank: 0.1 },
      ]);
      const outcome = await (
        await setup(search)
      ).registry.execute('kb_search', '{"query":"refunds"}', CONTEXT, TOOL_NAMES);
      expect(search).toHaveBeenCalledWith(CONTEXT.tenantId, 'refunds', 5);
      expect(outcome).toEqual({
        result: '1. Refunds: Refunds take **five** business days\n2. Shipping: Ships in two days',
        success: true,
      });
    });

    it('ignores a tenant named in the arguments', async () => {
      const { registry, search } = await setup();
      const outcome = await registry.execute(
        'kb_search',
        '{"query":"x","tenant_id":"22222222-2222-2222-2222-222222222222"}',
        CONTEXT,
        TOOL_NAMES,
      );
      expect(outcome.success).toBe(true);
      expect(search).toHaveBeenCalledWith(CONTEXT.tenantId, 'x', 5);
    });

    it('says so when nothing matched', async () => {
      const outcome = await (
        await setup()
      ).registry.execute('kb_search', '{"query":"x","limit":20}', CONTEXT, TOOL_NAMES);
      expect(outcome).toEqual({ result: 'No documents matched.', success: true });
    });

    it.each([
      ['{"query":""}', '"query" must be a non-empty string'],
      ['{"query":42}', '"query" must be a non-empty string'],
      [JSON.stringify({ query: 'q'.repeat(501) }), '"query" is too long (at most 500 characters)'],
      ['{"query":"x","limit":0}', '"limit" must be an integer from 1 to 20'],
      ['{"query":"x","limit":21}', '"limit" must be an integer from 1 to 20'],
      ['{"query":"x","limit":2.5}', '"limit" must be an integer from 1 to 20'],
      ['{"query":"x","limit":"5"}', '"limit" must be an integer from 1 to 20'],
    ])('rejects %s', async (args, message) => {
      const { registry, search } = await setup();
      const outcome = await registry.execute('kb_search', args, CONTEXT, TOOL_NAMES);
      expect(outcome).toEqual({ result: `Error: ${message}`, success: false });
      expect(search).not.toHaveBeenCalled();
    });
  });

  describe('current_time', () => {
    beforeEach(() => {
      jest.useFakeTimers({ now: new Date('2026-07-01T10:30:15.250Z') });
    });

    it.each([
      ['{}', '2026-07-01T10:30:15Z (UTC)'],
      ['{"timezone":"UTC"}', '2026-07-01T10:30:15Z (UTC)'],
      ['{"timezone":"Europe/Paris"}', '2026-07-01T12:30:15+02:00 (Europe/Paris)'],
      ['{"timezone":"America/New_York"}', '2026-07-01T06:30:15-04:00 (America/New_York)'],
      ['{"timezone":"Asia/Kolkata"}', '2026-07-01T16:00:15+05:30 (Asia/Kolkata)'],
      ['{"timezone":"europe/paris"}', '2026-07-01T12:30:15+02:00 (europe/paris)'],
    ])('answers %s with %s', async (args, expected) => {
      expect(
        await (await setup()).registry.execute('current_time', args, CONTEXT, TOOL_NAMES),
      ).toEqual({
        result: expected,
        success: true,
      });
    });

    it('follows daylight saving time', async () => {
      jest.setSystemTime(new Date('2026-01-15T10:00:00Z'));
      const outcome = await (
        await setup()
      ).registry.execute('current_time', '{"timezone":"Europe/Paris"}', CONTEXT, TOOL_NAMES);
      expect(outcome.result).toBe('2026-01-15T11:00:00+01:00 (Europe/Paris)');
    });

    it.each([
      ['{"timezone":"Mars/Olympus"}', 'Unknown time zone "Mars/Olympus"'],
      ['{"timezone":"../../etc/passwd"}', 'Unknown time zone'],
      ['{"timezone":42}', '"timezone" must be a string'],
    ])('rejects %s, naming the problem', async (args, message) => {
      const outcome = await (
        await setup()
      ).registry.execute('current_time', args, CONTEXT, TOOL_NAMES);
      expect(outcome.success).toBe(false);
      expect(outcome.result).toContain(message);
      expect(outcome.result).toContain('IANA');
    });
  });
});
