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
 * How often every component is evaluated in the background. Kubernetes only
 * probes readiness (the critical components); without this, the gauges of
 * llm_proxy and disk would only move when someone calls /health, and the
 * LLM-proxy-down alert could never fire.
 */
export const BACKGROUND_CHECK_INTERVAL_MS = 15_000;
