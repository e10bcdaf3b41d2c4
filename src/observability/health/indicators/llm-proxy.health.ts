import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { APP_CONFIG } from '../../../config';
import type { AppConfig } from '../../../config';
import { DEPENDENCY_CHECK_TTL_MS } from '../health.constants';
import { describeFailure, HealthCheckFailure } from '../health-failure';
import type { ComponentIndicator } from './component-indicator';

/**
 * GET LLM_PROXY_URL + LLM_PROXY_HEALTH_PATH (LiteLLM's cheap liveliness probe,
 * not its /health, which calls every upstream model). Terminus' HTTP check has
 * no timeout of its own; this one is aborted at HEALTH_CHECK_TIMEOUT_MS.
 */
@Injectable()
export class LlmProxyHealthIndicator implements ComponentIndicator {
  readonly component = 'llm_proxy';
  readonly critical = false;
  readonly cacheTtlMs = DEPENDENCY_CHECK_TTL_MS;
  private readonly url: string | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.url = config.llm.proxyUrl ? `${config.llm.proxyUrl}${config.llm.healthPath}` : undefined;
    this.timeoutMs = config.health.checkTimeoutMs;
  }

  get configured(): boolean {
    return this.url !== undefined;
  }

  check() {
    return this.health
      .check(this.component)
      .attempt(async ({ signal }) => {
        if (!this.url) throw new HealthCheckFailure('not configured');
        let response: Response;
        try {
          response = await fetch(this.url, { signal, redirect: 'manual' });
        } catch (error) {
          throw new HealthCheckFailure(describeFailure(error));
        }
        // The body is not needed; releasing it returns the connection to the pool.
        await response.body?.cancel().catch(() => undefined);
        if (!response.ok) throw new HealthCheckFailure(`HTTP ${response.status}`);
      })
      .withTimeout(this.timeoutMs);
  }
}
