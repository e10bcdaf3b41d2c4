import { createHash, timingSafeEqual } from 'node:crypto';
import { Registry } from 'prom-client';
import type { Metric, OpenMetricsContentType } from 'prom-client';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** A scrape's answer, independent of the HTTP framework that serves it. */
export type MetricsScrape =
  | { readonly status: 200; readonly contentType: string; readonly body: string }
  | { readonly status: 401; readonly message: string };

/** The request headers a scrape depends on. */
export interface MetricsScrapeRequest {
  readonly authorization?: string | string[];
  readonly accept?: string | string[];
}

/**
 * Answers one scrape of the application's registry: checks the bearer token
 * when METRICS_TOKEN is set (constant time), then renders Prometheus text, or
 * OpenMetrics (with exemplars) when the Accept header prefers it. The
 * /metrics controller uses it, and so does the management listener.
 */
export async function scrapeMetricsRegistry(
  registry: Registry,
  request: MetricsScrapeRequest,
  token: string | undefined,
): Promise<MetricsScrape> {
  if (token !== undefined && !bearerMatches(request.authorization, token)) {
    return { status: 401, message: 'Missing or invalid metrics token' };
  }
  const format = negotiateExpositionFormat(request.accept);
  const body = await renderMetrics(registry, format);
  return { status: 200, contentType: contentTypeOf(format), body };
}

export function contentTypeOf(format: ExpositionFormat): string {
  return format === 'openmetrics'
    ? Registry.OPENMETRICS_CONTENT_TYPE
    : Registry.PROMETHEUS_CONTENT_TYPE;
}

const openMetricsViews = new WeakMap<Registry, OpenMetricsView>();

/** Renders the registry in the given format. */
export async function renderMetrics(registry: Registry, format: ExpositionFormat): Promise<string> {
  if (format === 'prometheus') return registry.metrics();
  let view = openMetricsViews.get(registry);
  if (!view) {
    view = new OpenMetricsView(registry);
    openMetricsViews.set(registry, view);
  }
  return view.metrics();
}

/**
 * OpenMetrics when the client ranks it above plain text (Prometheus sends
 * `application/openmetrics-text;version=1.0.0;q=0.6,...,text/plain;version=0.0.4;q=0.3`);
 * Prometheus text otherwise, including for a missing or unparsable header.
 */
export function negotiateExpositionFormat(accept: string | string[] | undefined): ExpositionFormat {
  const header = Array.isArray(accept) ? accept.join(',') : accept;
  if (!header) return 'prometheus';
  let openMetricsQ = 0;
  let textQ = 0;
  for (const range of header.split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    let q = 1;
    let version: string | undefined;
    for (const param of params) {
      const [key, value = ''] = param.split('=').map((part) => part.trim());
      if (key === 'q') q = parseQ(value);
      else if (key === 'version') version = value;
    }
    // Only OpenMetrics 1.0.0 is rendered; the 0.0.1 draft is served as plain text.
    if (type === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) {
      openMetricsQ = Math.max(openMetricsQ, q);
    } else if (type === 'text/plain' || type === 'text/*' || type === '*/*') {
      textQ = Math.max(textQ, q);
    }
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? 'openmetrics' : 'prometheus';
}

function parseQ(value: string): number {
  const q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value) ? Number(value) : 0;
  return q;
}

function bearerMatches(header: string | string[] | undefined, token: string): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  if (!match) return false;
  // Digests have equal length, so the comparison leaks neither the token nor its length.
  return timingSafeEqual(digest(match[1]), digest(token));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * prom-client renders OpenMetrics by switching a registry's content type and,
 * on the way, renames every counter in place (`x_total` → `x`), which breaks
 * later Prometheus-text scrapes of the same registry. This view renders a
 * registry's metrics as OpenMetrics without touching them.
 */
class OpenMetricsView extends Registry<OpenMetricsContentType> {
  constructor(private readonly source: Registry) {
    super();
    this.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  }

  override async metrics(): Promise<string> {
    const render = (this as unknown as RenderInternals).getMetricsAsString.bind(this);
    const families = await Promise.all(
      this.source.getMetricsAsArray().map((metric) => render(asOpenMetricsFamily(metric))),
    );
    return `${families.join('\n')}\n# EOF\n`;
  }
}

interface RenderInternals {
  getMetricsAsString(metric: unknown): Promise<string>;
}

interface MetricData {
  name: string;
}

/** OpenMetrics names a counter family without `_total` and suffixes its samples. */
function asOpenMetricsFamily(metric: object): unknown {
  if ((metric as { type?: unknown }).type !== 'counter') return metric;
  const counter = metric as Metric;
  return {
    get: async () => {
      const data = (await counter.get()) as MetricData;
      return { ...data, name: data.name.replace(/_total$/, '') };
    },
  };
}
