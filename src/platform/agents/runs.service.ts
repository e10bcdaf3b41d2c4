import {
  BadGatewayException,
  GatewayTimeoutException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  InternalServerErrorException,
  NotFoundException,
} from '@nestjs/common';
import { DependencyUnavailableError, FailureWithRecord, storableText } from '../../common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { isSuccessfulRunStatus } from '../../observability/catalog';
import { sampledTraceId } from '../../observability/context';
import { CLIENT_CLOSED_REQUEST } from '../../observability/logging';
import { BudgetExceededError } from '../budgets';
import { LlmNotConfiguredError, LlmRequestError } from '../llm';
import { InjectTenantScopedRepository, TenantScopedRepository } from '../tenants';
import type { TenantAuth } from '../tenants';
import { AgentRunner } from './agent-runner.service';
import type { RunOutcome } from './agent-runner.service';
import { runView } from './agent.views';
import type { RunView } from './agent.views';
import { Agent } from './agent.entity';
import { AgentsService } from './agents.service';
import { runDeadline, RunTimeoutError } from './run-errors';
import { Run } from './run.entity';
import { TenantConcurrencyLimitError, TenantRunSlots } from './tenant-run-slots.service';
import type { RunSlot } from './tenant-run-slots.service';

@Injectable()
export class RunsService {
  constructor(
    @InjectTenantScopedRepository(Run) private readonly runs: TenantScopedRepository<Run>,
    private readonly agents: AgentsService,
    private readonly runner: AgentRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly slots: TenantRunSlots,
  ) {}

  /**
   * Runs an agent to completion and stores the run. The row is written before
   * the loop starts, so a run cut off by a crash is still on record (and the
   * sweeper finishes it). The run holds one of its tenant's run slots
   * throughout; without one it is refused (429) and not stored. It stops at
   * once when its client leaves or RUN_TIMEOUT_MS is up.
   */
  async start(
    auth: TenantAuth,
    agentId: string,
    input: string,
    signal?: AbortSignal,
  ): Promise<RunView> {
    const agent = await this.agents.get(auth.tenantId, agentId);
    if (!this.config.llm.proxyUrl) throw new LlmNotConfiguredError();
    // Gone before the run began: nothing to run, nothing to store.
    if (signal?.aborted) throw clientClosed();
    const slot = await this.acquireSlot(auth.tenantId);
    try {
      return await this.runInSlot(auth, agent, input, signal);
    } finally {
      // Every outcome gives the slot back: success, failure, the client leaving, a timeout.
      await slot.release();
    }
  }

  private async runInSlot(
    auth: TenantAuth,
    agent: Agent,
    input: string,
    signal: AbortSignal | undefined,
  ): Promise<RunView> {
    const run = await this.runs.insert(auth.tenantId, {
      agentId: agent.id,
      userId: auth.userId,
      status: 'running',
      input,
      steps: 0,
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
      usageEstimated: false,
      traceId: sampledTraceId() ?? null,
    });
    const deadline = runDeadline(this.config.runs.timeoutMs, signal);
    let outcome: RunOutcome;
    try {
      outcome = await this.runner.execute(agent, input, auth, deadline.signal);
    } finally {
      deadline.dispose();
    }
    const finished = runView(await this.finish(auth.tenantId, run, outcome));
    if (!isSuccessfulRunStatus(outcome.status)) {
      throw new FailureWithRecord(answerFor(outcome), { run: finished });
    }
    return finished;
  }

  /** One of the tenant's TENANT_MAX_CONCURRENT_RUNS slots; past the limit, 429 saying so. */
  private async acquireSlot(tenantId: string): Promise<RunSlot> {
    try {
      return await this.slots.acquire(tenantId);
    } catch (error) {
      throw error instanceof TenantConcurrencyLimitError ? tooManyRuns(error) : error;
    }
  }

  async get(tenantId: string, runId: string): Promise<RunView> {
    const run = await this.runs.findById(tenantId, runId);
    if (!run) throw new NotFoundException(`Run ${runId} not found`);
    return runView(run);
  }

  private async finish(tenantId: string, run: Run, outcome: RunOutcome): Promise<Run> {
    const patch: Partial<Run> = {
      status: outcome.status,
      // The model's words (and an error quoting them) are not the client's: cleaned, never refused.
      output: storableText(outcome.output),
      steps: outcome.steps,
      promptTokens: outcome.usage.promptTokens,
      completionTokens: outcome.usage.completionTokens,
      totalTokens: outcome.usage.totalTokens,
      usageEstimated: outcome.usage.estimated,
      durationMs: outcome.durationMs,
      error: storableText(outcome.error),
      errorType: outcome.errorType,
      finishedAt: new Date(),
    };
    await this.runs.update(tenantId, run.id, patch);
    return Object.assign(run, patch);
  }
}

/**
 * nginx's 499: the client closed the connection. Nobody reads it; it is what
 * the access line and the HTTP metrics already said when the client left.
 */
function clientClosed(): HttpException {
  return new HttpException('The client closed the connection', CLIENT_CLOSED_REQUEST);
}

/**
 * The answer of a run that ended without success or max_steps: 429 with
 * Retry-After for the budget, 502 for the proxy, 504 past RUN_TIMEOUT_MS; a
 * dependency that could not answer is left to the exception filter (503);
 * anything else is 500.
 */
function answerFor(outcome: RunOutcome): Error {
  const failure = outcome.failure;
  if (outcome.status === 'cancelled') return clientClosed();
  if (failure instanceof RunTimeoutError) return new GatewayTimeoutException(failure.message);
  if (failure instanceof BudgetExceededError) {
    return new HttpException(
      { message: failure.message, headers: { 'retry-after': String(failure.retryAfterSeconds()) } },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
  if (failure instanceof LlmRequestError) {
    return new BadGatewayException(`The LLM proxy failed: ${failure.message}`);
  }
  if (failure instanceof DependencyUnavailableError) return failure;
  return new InternalServerErrorException(outcome.error ?? 'Internal error');
}

/** 429 with Retry-After, and the limit and the count in the body, so a client can pace itself. */
function tooManyRuns(refusal: TenantConcurrencyLimitError): FailureWithRecord {
  const answer = new HttpException(
    {
      message: refusal.message,
      headers: { 'retry-after': String(refusal.retryAfterSeconds) },
    },
    HttpStatus.TOO_MANY_REQUESTS,
  );
  return new FailureWithRecord(answer, {
    reason: refusal.errorType,
    limit: refusal.limit,
    in_flight: refusal.inFlight,
  });
}
