interface Entry<V> {
  readonly value: Promise<V>;
  /** Infinity while in flight: every caller joins the one running evaluation. */
  expiresAt: number;
}

/**
 * Shares one evaluation per key among concurrent callers and reuses its
 * result for `ttlMs` after it settles, so a burst of probes costs one ping
 * per dependency. Terminus' own `cacheFor` cannot tell a fresh evaluation
 * from a shared one, and the health metrics must be recorded exactly once
 * per real check.
 */
export class HealthResultCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  get(key: K, ttlMs: number, evaluate: () => Promise<V>): Promise<V> {
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const entry: Entry<V> = { value: evaluate(), expiresAt: Infinity };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        entry.expiresAt = this.now() + ttlMs;
      },
      () => {
        // A failed evaluation is never reused: the next caller tries again.
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  clear(): void {
    this.entries.clear();
  }
}
