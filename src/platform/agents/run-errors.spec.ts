import { BudgetExceededError } from '../budgets';
import { LlmRequestError } from '../llm';
import {
  RUN_ERROR_TYPES,
  RunCancelledByRequestError,
  runDeadline,
  runErrorType,
  RunTimeoutError,
} from './run-errors';

describe(runDeadline.name, () => {
  it('aborts with a RunTimeoutError naming the bound once the time is up', async () => {
    const deadline = runDeadline(30);
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve));
    expect(deadline.signal.reason).toBeInstanceOf(RunTimeoutError);
    expect((deadline.signal.reason as RunTimeoutError).message).toBe(
      'The run did not finish within RUN_TIMEOUT_MS (30 ms) and was stopped',
    );
  });

  it("keeps the client's reason when the client leaves first", () => {
    const client = new AbortController();
    const deadline = runDeadline(10_000, client.signal);
    const reason = new Error('client gone');
    client.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
  });

  it('stops at whichever of its stops aborts first, with its reason', () => {
    const client = new AbortController();
    const cancel = new AbortController();
    const deadline = runDeadline(10_000, client.signal, undefined, cancel.signal);
    const reason = new RunCancelledByRequestError();
    cancel.abort(reason);
    expect(deadline.signal.reason).toBe(reason);
    client.abort(new Error('client gone'));
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
  });

  it('never aborts once disposed', async () => {
    const deadline = runDeadline(20);
    deadline.dispose();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(deadline.signal.aborted).toBe(false);
  });
});

describe(runErrorType.name, () => {
  it.each([
    ['success', 'nothing', null, undefined],
    ['max_steps', 'nothing', null, undefined],
    ['cancelled', 'its client leaving', RUN_ERROR_TYPES.clientClosed, new Error('gone')],
    ['cancelled', 'a cancel request', 'cancelled_by_request', new RunCancelledByRequestError()],
    ['error', 'its deadline', 'run_timeout', new RunTimeoutError(1000)],
    ['error', 'a proxy error', 'http_502', new LlmRequestError('upstream', 'http_502', 502)],
    [
      'budget_exceeded',
      'the budget',
      'budget_exceeded',
      new BudgetExceededError('daily', new Date()),
    ],
    ['error', 'a bug', RUN_ERROR_TYPES.internal, new TypeError('a bug')],
  ] as const)('a run ended with %s by %s has error_type %s', (status, _by, expected, failure) => {
    expect(runErrorType(status, failure)).toBe(expected);
  });
});
