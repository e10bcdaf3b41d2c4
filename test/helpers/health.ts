/** A health endpoint's answer: status code and the parsed report. */
export interface HealthAnswer {
  status: number;
  body: {
    status: 'healthy' | 'degraded' | 'unhealthy';
    timestamp: string;
    components: Record<
      string,
      { status: 'healthy' | 'unhealthy'; latency_ms: number; error?: string }
    >;
    draining?: true;
  };
  text: string;
}

/**
 * GETs a health endpoint. `answerWithinMs` aborts a request that hangs, so a
 * probe that does not answer fails the test instead of timing it out.
 */
export async function getHealth(
  baseUrl: string,
  path: '/health' | '/health/ready' | '/health/live',
  { answerWithinMs = 10_000 }: { answerWithinMs?: number } = {},
): Promise<HealthAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    signal: AbortSignal.timeout(answerWithinMs),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as HealthAnswer['body'], text };
}
