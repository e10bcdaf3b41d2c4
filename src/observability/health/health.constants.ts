/**
 * How long one dependency check result is reused. Kubernetes probes every
 * few seconds, per pod and per probe type, and a dashboard or a load balancer
 * may add more: a second keeps the cost at one ping per dependency per second
 * however many probes arrive, and is still fresh enough for any probe period.
 */
export const DEPENDENCY_CHECK_TTL_MS = 1000;

/** Disk usage changes slowly and its check reads the file system: reuse it longer. */
export const DISK_CHECK_TTL_MS = 30_000;

/**
 * After the drain, how long app.close() may wait for in-flight requests before
 * the process is forced out. Agent runs may take up to 300 s (the top bucket
 * of agent_run_duration_seconds), so a run started just before SIGTERM can
 * finish; the Helm chart's terminationGracePeriodSeconds (330) sits above
 * SHUTDOWN_DRAIN_MS plus this bound.
 */
export const SHUTDOWN_CLOSE_BOUND_MS = 300_000;

/**
 * How often every component is evaluated in the background. Kubernetes only
 * probes readiness (the critical components); without this, the gauges of
 * llm_proxy and disk would only move when someone calls /health, and the
 * LLM-proxy-down alert could never fire.
 */
export const BACKGROUND_CHECK_INTERVAL_MS = 15_000;
