/** Route label and log field of a request no route matched (404s). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Scrapes and probes (/metrics, /health, /health/...): they arrive every few
 * seconds from machines, so they are neither traffic in the HTTP metrics,
 * nor traced, nor logged above debug. Takes a raw URL (query string allowed)
 * or a route template.
 */
export function isProbePath(url: string): boolean {
  return hasPathPrefix(url, '/metrics') || hasPathPrefix(url, '/health');
}

function hasPathPrefix(url: string, prefix: string): boolean {
  if (!url.startsWith(prefix)) return false;
  const next = url.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 0x2f /* / */ || next === 0x3f; /* ? */
}
