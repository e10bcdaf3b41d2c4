import type { RunView } from './agent.views';
import { acceptsEventStream } from './agents.controller';
import { RunEventStream } from './run-event-stream';

const RUN = { id: 'run-1', status: 'running' } as unknown as RunView;
const CALL = {
  id: 'call_1',
  type: 'function' as const,
  function: { name: 'calculator', arguments: '{"expression":"2+3"}' },
};

/** Everything the stream writes, as text. */
function collect(stream: RunEventStream): () => string {
  let text = '';
  stream.body.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

describe(RunEventStream.name, () => {
  afterEach(() => jest.useRealTimers());

  it('writes each event as `event:` and one JSON `data:` line, and ends after the last', async () => {
    const stream = new RunEventStream({ captureContent: false });
    const written = collect(stream);
    const ended = new Promise((resolve) => stream.body.on('end', resolve));
    stream.created(RUN);
    stream.stepStarted(1);
    stream.messageDelta(1, 'Hi\nthere\u0000');
    stream.stepCompleted(
      1,
      { promptTokens: 3, completionTokens: 2, totalTokens: 5, estimated: false },
      'stop',
    );
    stream.completed({ ...RUN, status: 'success' });
    stream.stepStarted(2);
    await ended;
    expect(written()).toBe(
      'event: run.created\ndata: {"id":"run-1","status":"running"}\n\n' +
        'event: step.started\ndata: {"run_id":"run-1","step":1}\n\n' +
        // A newline in the text stays inside the JSON; a NUL is cleaned as the stored output is.
        'event: message.delta\ndata: {"run_id":"run-1","step":1,"content":"Hi\\nthere\uFFFD"}\n\n' +
        'event: step.completed\ndata: {"run_id":"run-1","step":1,"finish_reason":"stop","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"estimated":false}}\n\n' +
        'event: run.completed\ndata: {"id":"run-1","status":"success"}\n\n',
    );
  });

  it('tells tool calls by name and id only, unless content capture is on', () => {
    const plain = new RunEventStream({ captureContent: false });
    const plainText = collect(plain);
    plain.created(RUN);
    plain.toolStarted(1, CALL);
    plain.toolCompleted(1, CALL, { success: true, result: '5' });
    expect(plainText()).toContain(
      'data: {"run_id":"run-1","step":1,"tool_call_id":"call_1","name":"calculator"}\n\n',
    );
    expect(plainText()).toContain(
      'data: {"run_id":"run-1","step":1,"tool_call_id":"call_1","name":"calculator","success":true}\n\n',
    );

    const captured = new RunEventStream({ captureContent: true });
    const capturedText = collect(captured);
    captured.created(RUN);
    captured.toolStarted(1, CALL);
    captured.toolCompleted(1, CALL, { success: false, result: 'Error: no' });
    expect(capturedText()).toContain('"arguments":"{\\"expression\\":\\"2+3\\"}"');
    expect(capturedText()).toContain('"success":false,"result":"Error: no"');
  });

  it('sends a `: ping` comment each time it has been quiet for the heartbeat interval', () => {
    jest.useFakeTimers();
    const stream = new RunEventStream({ captureContent: false, heartbeatMs: 1000 });
    const written = collect(stream);
    stream.created(RUN);
    jest.advanceTimersByTime(999);
    expect(written()).not.toContain(': ping');
    jest.advanceTimersByTime(1);
    expect(written().match(/: ping\n\n/g)).toHaveLength(1);
    // An event resets the interval.
    jest.advanceTimersByTime(500);
    stream.stepStarted(1);
    jest.advanceTimersByTime(999);
    expect(written().match(/: ping\n\n/g)).toHaveLength(1);
    jest.advanceTimersByTime(1001);
    expect(written().match(/: ping\n\n/g)).toHaveLength(3);
    stream.failed({ statusCode: 502, error: 'Bad Gateway', message: 'x', request_id: 'r' });
    jest.advanceTimersByTime(10_000);
    expect(written().match(/: ping\n\n/g)).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('writes nothing, and throws nothing, once its client has gone', () => {
    jest.useFakeTimers();
    const stream = new RunEventStream({ captureContent: false, heartbeatMs: 1000 });
    stream.created(RUN);
    stream.body.destroy();
    expect(() => {
      stream.stepStarted(1);
      stream.messageDelta(1, 'late');
      stream.completed(RUN);
    }).not.toThrow();
    expect(stream.body.destroyed).toBe(true);
    jest.advanceTimersByTime(5000);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe(acceptsEventStream.name, () => {
  it.each([
    ['text/event-stream', true],
    ['application/json, text/event-stream', true],
    ['TEXT/EVENT-STREAM;q=0.5', true],
    ['text/event-stream;q=0', false],
    ['application/json', false],
    ['*/*', false],
    [undefined, false],
  ])('%s → %s', (accept, expected) => {
    expect(acceptsEventStream(accept)).toBe(expected);
  });
});
