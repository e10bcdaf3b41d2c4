import type { Counter } from 'prom-client';
import { MAX_LABEL_VALUE_LENGTH, OVERFLOW_LABEL } from './metric-names';

/** Label value for an empty or missing user value (an empty label reads as "no label" in PromQL). */
export const EMPTY_LABEL = 'unknown';

/**
 * prom-client bounds nothing: every distinct label value is a series rendered on
 * every scrape, about 1.1 µs a line (docs/performance.md), so /metrics
 * would be a denial-of-service lever. Keeps the first `max` distinct values of a user-supplied label; later ones
 * fold into `_other`, and every folded sample counts in
 * metrics_label_overflow_total for each metric it was written to.
 */
export class LabelCap {
  private readonly admitted = new Set<string>();
  private readonly overflowCounters: { inc(): void }[];

  constructor(
    readonly max: number,
    overflow: Counter<'metric'>,
    metrics: readonly string[],
  ) {
    this.overflowCounters = metrics.map((metric) => overflow.labels(metric));
    for (const metric of metrics) overflow.labels(metric).inc(0);
  }

  /** The value to put in the label: the value itself while under the cap, else `_other` (counted). */
  fold(raw: unknown): string {
    const value = normaliseLabelValue(raw);
    if (this.tryAdmit(value)) return value;
    this.countOverflow();
    return OVERFLOW_LABEL;
  }

  /** Admits an already normalised value if there is room, without counting; true when it has its own series. */
  tryAdmit(value: string): boolean {
    if (this.admitted.has(value)) return true;
    if (this.admitted.size >= this.max) return false;
    this.admitted.add(value);
    return true;
  }

  /** One folded sample, for each metric this cap guards. */
  countOverflow(): void {
    for (const counter of this.overflowCounters) counter.inc();
  }

  /** Forgets every admitted value (the tenant cap follows the ledger's recent tenants). */
  clear(): void {
    this.admitted.clear();
  }

  get size(): number {
    return this.admitted.size;
  }
}

/** Strings as they are (cut at MAX_LABEL_VALUE_LENGTH); anything else, or empty, as `unknown`. */
export function normaliseLabelValue(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') return EMPTY_LABEL;
  return raw.length > MAX_LABEL_VALUE_LENGTH ? raw.slice(0, MAX_LABEL_VALUE_LENGTH) : raw;
}

/**
 * A cap that one tenant cannot fill for the others. Values it knows (the
 * priced and configured models) always keep their own series; a value first
 * seen from a tenant counts against that tenant's allowance (`perTenant`
 * values), and past it only that tenant's new values fold into `_other`. The
 * global cap still bounds every series, whatever tenants do. A value already
 * admitted is free for everyone.
 */
export class TenantFairLabelCap {
  private readonly admitted = new Set<string>();
  /** Values each tenant introduced: at most one entry per admitted value, so bounded like the cap. */
  private readonly introducedBy = new Map<string, number>();
  private readonly overflowCounters: { inc(): void }[];

  constructor(
    readonly max: number,
    readonly perTenant: number,
    private readonly known: (value: string) => boolean,
    overflow: Counter<'metric'>,
    metrics: readonly string[],
  ) {
    this.overflowCounters = metrics.map((metric) => overflow.labels(metric));
    for (const metric of metrics) overflow.labels(metric).inc(0);
  }

  /** The value to put in the label; `tenantId` is who asked for it (undefined outside a tenant's request). */
  fold(raw: unknown, tenantId: string | undefined): string {
    const value = normaliseLabelValue(raw);
    if (this.admitted.has(value) || this.known(value)) return value;
    const introduced = tenantId === undefined ? 0 : (this.introducedBy.get(tenantId) ?? 0);
    if (introduced >= this.perTenant || this.admitted.size >= this.max) {
      for (const counter of this.overflowCounters) counter.inc();
      return OVERFLOW_LABEL;
    }
    this.admitted.add(value);
    if (tenantId !== undefined) this.introducedBy.set(tenantId, introduced + 1);
    return value;
  }

  /** Values admitted by their first use (known ones are not counted). */
  get size(): number {
    return this.admitted.size;
  }
}
