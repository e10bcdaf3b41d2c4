/** The health components; also the `component` label of the health metrics. */
export type HealthComponent = 'database' | 'redis' | 'llm_proxy' | 'disk';

/** Overall status: `degraded` means only non-critical components are down (still 200). */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export type ComponentStatus = 'healthy' | 'unhealthy';

export interface ComponentReport {
  status: ComponentStatus;
  latency_ms: number;
  /** Short and safe: never a credential, URL or host name. */
  error?: string;
}

/** The response body of /health, /health/ready and /health/live (the original's format). */
export interface HealthReport {
  status: HealthStatus;
  timestamp: string;
  components: Partial<Record<HealthComponent, ComponentReport>>;
  /** Present while the process drains on shutdown: readiness is 503 whatever the components say. */
  draining?: true;
}
