import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BadGatewayException,
  BeforeApplicationShutdown,
  ConflictException,
  GatewayTimeoutException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  InternalServerErrorException,
  NotFoundException,
} from '@nestjs/common';
import { DependencyUnavailableError, FailureWithRecord, storableText } from '../../common';
import type { ErrorBody } from '../../common';
import { APP_CONFIG } from '../../config';
import type { AppConfig } from '../../config';
import { isSuccessfulRunStatus } from '../../observability/catalog';
import { answerBody } from '../../http';
import { currentRequestContext, sampledTraceId } from '../../observability/context';
import { CLIENT_CLOSED_REQUEST } from '../../observability/logging';
import { RunControlObserver } from '../../observability/observers';
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
import { RunCancellations } from './run-cancellations.service';
import type { RunCancellation } from './run-cancellations.service';
import { RunCancelledByRequestError, runDeadline, RunTimeoutError } from './run-errors';
import type { RunEventSink } from './run-events';
import { Run } from './run.entity';
import { TenantConcurrencyLimitError, TenantRunSlots } from './tenant-run-slots.service';
import type { RunSlot } from './tenant-run-slots.service';

/**
 * A run admitted: its tenant's slot taken, its row stored as `running`, its
 * cancellation registered. execute() runs it to its end and gives all of it
 * back, whatever the outcome; nothing else may drop one.
 */
export class AdmittedRun {
  /** The run as stored at its start (status `running`). */
  readonly view: RunView;

  constructor(
    readonly run: Run,
    readonly agent: Agent,
    readonly auth: TenantAuth,
    readonly slot: RunSlot,
    readonly cancellation: RunCancellation,
  ) {
    this.view = runView(run);
  }
}

/** What a streamed run tells its client besides the steps: its start and its end. */
export interface RunStreamSink extends RunEventSink {
  created(run: RunView): void;
  completed(run: RunView): void;
  failed(body: ErrorBody): void;
}

/** How long POST /v1/runs/:id/cancel waits to see the run end before it answers 202. */
export const CANCEL_CONFIRM_MS = 5000;
const CANCEL_POLL_MS = 100;

/** What a cancel request achieved: the run ended `cancelled`, or it was asked and has not ended yet. */
export interface CancelOutcome {
  readonly confirmed: boolean;
  readonly run: RunView;
}

@Injectable()
export class RunsService implements BeforeApplicationShutdown {
  /** Background runs still working: the shutdown waits for them as for the requests in flight. */
  private readonly background = new Set<Promise<unknown>>();

  constructor(
    @InjectTenantScopedRepository(Run) private readonly runs: TenantScopedRepository<Run>,
    private readonly agents: AgentsService,
    private readonly runner: AgentRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly slots: TenantRunSlots,
    private readonly cancellations: RunCancellations,
    private readonly control: RunControlObserver,
  ) {}

  /**
   * Runs an agent to completion and stores the run. The row is written before
   * the loop starts, so a run cut off by a crash is still on record (and the
   * sweeper finishes it). The run holds one of its tenant's run slots
   * throughout; without one it is refused (429) and not stored. It stops at
   * once when its client leaves, when it is cancelled, or when RUN_TIMEOUT_MS
   * is up.
   */
  async start(
    auth: TenantAuth,
    agentId: string,
    input: string,
    signal?: AbortSignal,
  ): Promise<RunView> {
    return this.execute(await this.admit(auth, agentId, input, signal), { stop: signal });
  }

  /**
   * Everything a run needs before it may start, each refusal an ordinary
   * answer (404 unknown agent, 503 no proxy, 429 the tenant's limit, the
   * database's 503): only a run that passes is stored, as `running`. The
   * caller must execute() what it gets.
   */
  async admit(
    auth: TenantAuth,
    agentId: string,
    input: string,
    signal?: AbortSignal,
  ): Promise<AdmittedRun> {
    const agent = await this.agents.get(auth.tenantId, agentId);
    if (!this.config.llm.proxyUrl) throw new LlmNotConfiguredError();
    // Gone before the run began: nothing to run, nothing to store.
    if (signal?.aborted) throw clientClosed();
    const slot = await this.acquireSlot(auth.tenantId);
    // Registered before it is stored: a cancel request that finds the row finds the run too.
    const id = randomUUID();
    const cancellation = this.cancellations.register(id);
    try {
      const run = await this.runs.insert(auth.tenantId, {
        id,
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
      return new AdmittedRun(run, agent, auth, slot, cancellation);
    } catch (error) {
      cancellation.release();
      await slot.release();
      throw error;
    }
  }

  /**
   * Runs an admitted run to its end, stores it and gives its slot back. It
   * stops at once when `stop` aborts (its client left), when it is cancelled
   * or past RUN_TIMEOUT_MS. With `events` the run is watched as it works.
   * @throws FailureWithRecord (the answer and the stored run) for a run that ended badly
   */
  async execute(
    admitted: AdmittedRun,
    options: { stop?: AbortSignal; events?: RunEventSink } = {},
  ): Promise<RunView> {
    const { run, agent, auth } = admitted;
    const deadline = runDeadline(
      this.config.runs.timeoutMs,
      options.stop,
      admitted.cancellation.signal,
    );
    let outcome: RunOutcome;
    let finished: RunView;
    try {
      try {
        outcome = await this.runner.execute(
          agent,
          run.input,
          auth,
          deadline.signal,
          options.events,
        );
      } finally {
        deadline.dispose();
      }
      finished = runView(await this.finish(auth.tenantId, run, outcome));
    } finally {
      admitted.cancellation.release();
      // Every outcome gives the slot back: success, failure, the client leaving, a timeout.
      await admitted.slot.release();
    }
    if (!isSuccessfulRunStatus(outcome.status)) {
      throw new FailureWithRecord(answerFor(outcome), { run: finished });
    }
    return finished;
  }

  /**
   * A streamed run: run.created with the stored run at once, the steps as
   * they happen, then run.completed with the stored run, or run.failed with
   * the error body a blocking run would have answered.
   */
  async stream(admitted: AdmittedRun, sink: RunStreamSink, stop?: AbortSignal): Promise<void> {
    sink.created(admitted.view);
    try {
      sink.completed(await this.execute(admitted, { stop, events: sink }));
    } catch (error) {
      if (!(error instanceof FailureWithRecord))
        this.control.runFinishFailed(admitted.run.id, error);
      sink.failed(answerBody(error, currentRequestContext()?.requestId));
    }
  }

  /**
   * A background run: admitted as any run, then left to run without its
   * client (only RUN_TIMEOUT_MS and a cancel request stop it). Returns the
   * stored run at once, status `running`; GET /v1/runs/:id reads the rest.
   */
  async startInBackground(auth: TenantAuth, agentId: string, input: string): Promise<RunView> {
    const admitted = await this.admit(auth, agentId, input);
    const work = this.execute(admitted).catch((error: unknown) => {
      // A run that ended badly is on record (and reported by the run's observer); only an end
      // that could not be stored is news here, and nobody else would hear of it.
      if (!(error instanceof FailureWithRecord))
        this.control.runFinishFailed(admitted.run.id, error);
    });
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
    return admitted.view;
  }

  /**
   * Stops a running run of the tenant, on whichever replica runs it, and
   * waits up to CANCEL_CONFIRM_MS to see it end: `confirmed` with the
   * stored, cancelled run, or not (yet), with the run as it stands.
   * @throws NotFoundException for an unknown run or another tenant's
   * @throws FailureWithRecord 409 with the run when it has already ended (or ended otherwise meanwhile)
   */
  async cancel(tenantId: string, runId: string): Promise<CancelOutcome> {
    const run = await this.runs.findById(tenantId, runId);
    if (!run) throw new NotFoundException(`Run ${runId} not found`);
    if (run.status !== 'running') throw alreadyEnded(run);
    const here = await this.cancellations.request(runId);
    if (here) await withinMs(here, CANCEL_CONFIRM_MS);
    const ended = await this.endOf(tenantId, runId, here ? 0 : CANCEL_CONFIRM_MS);
    if (!ended) return { confirmed: false, run: runView(run) };
    if (ended.status !== 'cancelled') throw alreadyEnded(ended);
    return { confirmed: true, run: runView(ended) };
  }

  /** Before the connections and the database close: background runs end (by RUN_TIMEOUT_MS at worst) and are stored. */
  async beforeApplicationShutdown(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** The run once it is no longer `running`, reading again every CANCEL_POLL_MS for up to waitMs. */
  private async endOf(tenantId: string, runId: string, waitMs: number): Promise<Run | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const run = await this.runs.findById(tenantId, runId);
      if (run && run.status !== 'running') return run;
      if (Date.now() >= deadline) return undefined;
      await sleep(CANCEL_POLL_MS);
    }
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

/** Resolves when `promise` does or after ms, whichever is first. */
async function withinMs(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** 409 with the run: there is nothing left to cancel. */
function alreadyEnded(run: Run): FailureWithRecord {
  return new FailureWithRecord(
    new ConflictException(`Run ${run.id} has already ended (${run.status})`),
    { run: runView(run) },
  );
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
 * Retry-After for the budget, 502 for the proxy, 504 past RUN_TIMEOUT_MS, 409
 * for a run cancelled by request (the client is still there, and the run it
 * asked for was stopped); a dependency that could not answer is left to the
 * exception filter (503); anything else is 500.
 */
function answerFor(outcome: RunOutcome): Error {
  const failure = outcome.failure;
  if (failure instanceof RunCancelledByRequestError) return new ConflictException(failure.message);
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
