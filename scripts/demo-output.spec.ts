import { eventTimeline, parseEventStream, shortenAtWord } from './demo-output';

describe(shortenAtWord.name, () => {
  it('leaves text that fits as it is', () => {
    expect(shortenAtWord('The result is 60.', 20)).toBe('The result is 60.');
  });

  it('cuts at the last word boundary that fits, with an ellipsis, within the limit', () => {
    const answer = 'Refund policy: Refunds are issued within five business days';
    const short = shortenAtWord(answer, 30);
    expect(short).toBe('Refund policy: Refunds are…');
    expect(short.length).toBeLessThanOrEqual(30);
  });

  it('keeps a whole word that ends exactly at the limit', () => {
    expect(shortenAtWord('one two three four', 14)).toBe('one two three…');
  });

  it('drops punctuation left dangling before the ellipsis', () => {
    expect(shortenAtWord('According to the base: Refund policy', 25)).toBe(
      'According to the base…',
    );
  });

  it('folds line breaks and runs of spaces into single spaces', () => {
    expect(shortenAtWord('1. Refund policy:\n   five days\n2. Support', 100)).toBe(
      '1. Refund policy: five days 2. Support',
    );
  });

  it('cuts inside a word too long to keep whole', () => {
    const short = shortenAtWord(`id ${'x'.repeat(40)}`, 20);
    expect(short).toBe(`id ${'x'.repeat(16)}…`);
    expect(short).toHaveLength(20);
  });
});

describe(parseEventStream.name, () => {
  it('reads each event with its JSON data, skipping comments, with LF or CRLF', () => {
    const body =
      'event: run.created\ndata: {"id":"r1"}\n\n: ping\n\n' +
      'event: message.delta\r\ndata: {"content":"Hi"}\r\n\r\ndata: plain\n\n';
    expect(parseEventStream(body)).toEqual([
      { event: 'run.created', data: { id: 'r1' } },
      { event: 'message.delta', data: { content: 'Hi' } },
      { event: 'message', data: 'plain' },
    ]);
  });
});

describe(eventTimeline.name, () => {
  it('shows the events in order, each run of one name once with its count', () => {
    expect(
      eventTimeline([
        'run.created',
        'step.started',
        'message.delta',
        'message.delta',
        'message.delta',
        'step.completed',
      ]),
    ).toBe('run.created → step.started → message.delta ×3 → step.completed');
    expect(eventTimeline([])).toBe('');
  });
});
