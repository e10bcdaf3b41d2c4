import { execFile } from 'node:child_process';

/** One exposed sample: `name{labels} value [# {exemplar} value timestamp]`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly exemplar?: { readonly labels: Readonly<Record<string, string>>; readonly value: number };
}

export interface Scrape {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  readonly samples: Sample[];
}

/** GET /metrics the way a scraper does (Prometheus sends an OpenMetrics-first Accept). */
export async function scrapeMetrics(
  baseUrl: string,
  options: { accept?: string; token?: string } = {},
): Promise<Scrape> {
  const headers: Record<string, string> = {};
  if (options.accept) headers.accept = options.accept;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${baseUrl}/metrics`, { headers });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    text,
    samples: res.status === 200 ? parseExposition(text) : [],
  };
}

/** What Prometheus 2.5x+ sends in Accept. */
export const PROMETHEUS_SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,' +
  'application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,' +
  'text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

const SAMPLE_LINE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? (\S+)(?: # \{(.*?)\} (\S+)(?: \S+)?)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text or OpenMetrics into samples (tests only: no escapes beyond \\ \" \n). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const [, name, labelText, value, exemplarLabels, exemplarValue] = match;
    samples.push({
      name,
      labels: parseLabels(labelText),
      value: parseValue(value),
      ...(exemplarLabels !== undefined
        ? { exemplar: { labels: parseLabels(exemplarLabels), value: parseValue(exemplarValue) } }
        : {}),
    });
  }
  return samples;
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const [, key, raw] of text.matchAll(LABEL_PAIR)) {
    labels[key] = raw.replace(/\\(.)/g, (_all, ch: string) => (ch === 'n' ? '\n' : ch));
  }
  return labels;
}

function parseValue(value: string): number {
  if (value === '+Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  return Number(value);
}

/** Samples of `name` whose labels include `labels`. */
export function samplesOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The value of the one sample of `name` with exactly these labels (undefined when absent). */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.keys(labels).length;
  const found = samplesOf(samples, name, labels).filter(
    (sample) => Object.keys(sample.labels).length === wanted,
  );
  if (found.length > 1)
    throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Distinct label sets of a family (histograms: counted once per series, by `_count`). */
export function seriesCount(samples: readonly Sample[], name: string): number {
  return samples.filter((sample) => sample.name === name).length;
}

/** `promtool check metrics` on an exposition; resolves with its exit code and output. */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new Error(`promtool did not run: ${error.message}`));
        return;
      }
      resolve({ code: error ? Number(error.code) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

/**
 * What is wrong with a histogram family's series (empty when nothing): buckets
 * must be cumulative and end, at +Inf, at the series' _count.
 */
export function histogramInconsistencies(samples: readonly Sample[], name: string): string[] {
  const problems: string[] = [];
  for (const count of samplesOf(samples, `${name}_count`)) {
    const buckets = samplesOf(samples, `${name}_bucket`, count.labels);
    const where = `${name}${JSON.stringify(count.labels)}`;
    if (buckets.length === 0) problems.push(`${where}: no buckets`);
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i].value < buckets[i - 1].value)
        problems.push(`${where}: le=${buckets[i].labels.le} decreases`);
    }
    const inf = buckets.find((bucket) => bucket.labels.le === '+Inf');
    if (inf?.value !== count.value)
      problems.push(`${where}: +Inf bucket ${inf?.value} != _count ${count.value}`);
  }
  return problems;
}
