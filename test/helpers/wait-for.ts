/** T without the falsy values a probe returns while it waits (`cond && value`). */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls a condition until it holds (no fixed sleeps in tests); fails with the last value after timeoutMs. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as Truthy<T>;
    if (Date.now() > deadline) {
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms (last: ${String(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
