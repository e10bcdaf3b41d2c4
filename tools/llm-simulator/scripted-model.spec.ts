import { scriptAnswer, WireMessage, WireTool } from './scripted-model';

const tool = (name: string): WireTool => ({ type: 'function', function: { name } });
const ALL = [tool('calculator'), tool('kb_search'), tool('current_time')];
const user = (content: unknown): WireMessage => ({ role: 'user', content });

function afterTool(name: string, result: string): WireMessage[] {
  return [
    user('question'),
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: result },
  ];
}

describe(scriptAnswer.name, () => {
  it.each([
    ['What is (2+3)*4?', 'calculator', { expression: '(2+3)*4' }],
    ['Please compute 12.5 x 3', 'calculator', { expression: '12.5 * 3' }],
    ['how much is -4 + 10 / 2', 'calculator', { expression: '-4 + 10 / 2' }],
    [
      'What do our documents say about the holiday schedule?',
      'kb_search',
      { query: 'holiday schedule' },
    ],
    ['Search the knowledge base for refunds.', 'kb_search', { query: 'refunds' }],
    ['What is our refund policy?', 'kb_search', { query: 'What is our refund policy' }],
    ['What time is it?', 'current_time', {}],
    ['What time is it in America/New_York?', 'current_time', { timezone: 'America/New_York' }],
  ])('answers %j with a %s call', (question, name, args) => {
    expect(scriptAnswer([user(question)], ALL)).toEqual({
      kind: 'tool_calls',
      calls: [{ name, arguments: args }],
    });
  });

  it('answers directly when the matching tool is not offered', () => {
    expect(scriptAnswer([user('What is 2+2?')], [tool('kb_search')])).toMatchObject({
      kind: 'text',
    });
    expect(scriptAnswer([user('What time is it?')], undefined)).toMatchObject({ kind: 'text' });
  });

  it('reads OpenAI content parts', () => {
    expect(scriptAnswer([user([{ type: 'text', text: 'What is 1+1?' }])], ALL)).toMatchObject({
      kind: 'tool_calls',
    });
  });

  it.each([
    ['calculator', '20', 'The result is 20.'],
    [
      'current_time',
      '2026-01-01T00:00:00Z (UTC)',
      'The current time is 2026-01-01T00:00:00Z (UTC).',
    ],
    [
      'kb_search',
      'No documents matched.',
      'I found no documents about that in the knowledge base.',
    ],
    [
      'kb_search',
      '1. Refunds: paid in five days\n2. Shipping: two days',
      'According to the knowledge base (2 matching documents): Refunds: paid in five days',
    ],
    [
      'calculator',
      'Error: Division by zero',
      'The calculator reported a problem: Division by zero',
    ],
  ])('summarises a %s result %j', (name, result, answer) => {
    expect(scriptAnswer(afterTool(name, result), ALL)).toEqual({ kind: 'text', content: answer });
  });
});
