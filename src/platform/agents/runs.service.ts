import { HttpException, HttpStatus, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { currentTraceId } from '../../observability/telemetry';
import { BudgetExceededError, BudgetUnavailableError } from '../budgets';
import { LlmNotConfiguredError, LlmRequestError } from '../llm/llm.types';
import { TenantScopedRepository } from '../tenants';
import type { TenantAuth } from '../tenants';
import { AgentRunner } from './agent-runner.service';
import type { RunOutcome } from './agent-runner.service';
import { runView } from './agent.views';
import type { RunView } from './agent.views';
import { AgentsService } from './agents.service';
import { Run } from './run.entity';

/**
 * A run that ended without success or max_steps: the standard error body plus
 * the stored run, and Retry-After for budget refusals.
 */
export class RunFailedException extends HttpException {
  constructor(status: number, message: string, run: RunView, headers: Record<string, string> = {}) {
    super({ message, run, headers }, status);
  }
}

@Injectable()
export class RunsService {
  private readonly runs: TenantScopedRepository<Run>;

  constructor(
    @InjectRepository(Run) repository: Repository<Run>,
    private readonly agents: AgentsService,
    private readonly runner: AgentRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.runs = new TenantScopedRepository(repository);
  }

  /**
   * Runs an agent to completion and stores the run. The row is written before
   * the loop starts, so a run cut off by a crash is still on record.
   */
  async start(auth: TenantAuth, agentId: string, input: string): Promise<RunView> {
    const agent = await this.agents.get(auth.tenantId, agentId);
    if (!this.config.llm.proxyUrl) {
      throw new HttpException(new LlmNotConfiguredError().message, HttpStatus.SERVICE_UNAVAILABLE);
    }
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
      traceId: currentTraceId() ?? null,
    });
    const outcome = await this.runner.execute(agent, input, auth);
    const finished = await this.finish(auth.tenantId, run, outcome);
    throwIfFailed(outcome, runView(finished));
    return runView(finished);
  }

  async get(tenantId: string, runId: string): Promise<RunView> {
    const run = await this.runs.findById(tenantId, runId);
    if (!run) throw new NotFoundException(`Run ${runId} not found`);
    return runView(run);
  }

  private async finish(tenantId: string, run: Run, outcome: RunOutcome): Promise<Run> {
    const patch: Partial<Run> = {
      status: outcome.status,
      output: outcome.output,
      steps: outcome.steps,
      promptTokens: outcome.usage.promptTokens,
      completionTokens: outcome.usage.completionTokens,
      totalTokens: outcome.usage.totalTokens,
      usageEstimated: outcome.usage.estimated,
      durationMs: outcome.durationMs,
      error: outcome.error,
      finishedAt: new Date(),
    };
    await this.runs.update(tenantId, run.id, patch);
    return Object.assign(run, patch);
  }
}

function throwIfFailed(outcome: RunOutcome, run: RunView): void {
  if (outcome.status === 'success' || outcome.status === 'max_steps') return;
  const failure = outcome.failure;
  if (failure instanceof BudgetExceededError) {
    throw new RunFailedException(HttpStatus.TOO_MANY_REQUESTS, failure.message, run, {
      'retry-after': String(failure.retryAfterSeconds()),
    });
  }
  if (failure instanceof LlmRequestError) {
    throw new RunFailedException(
      HttpStatus.BAD_GATEWAY,
      `The LLM proxy failed: ${failure.message}`,
      run,
    );
  }
  if (failure instanceof BudgetUnavailableError || failure instanceof LlmNotConfiguredError) {
    throw new RunFailedException(HttpStatus.SERVICE_UNAVAILABLE, failure.message, run);
  }
  throw new RunFailedException(
    HttpStatus.INTERNAL_SERVER_ERROR,
    outcome.error ?? 'Internal error',
    run,
  );
}
