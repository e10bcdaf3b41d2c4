// The subset of autocannon 9's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  function autocannon(
    options: autocannon.AutocannonOptions,
    callback: (error: Error | null, result: autocannon.AutocannonResult) => void,
  ): autocannon.AutocannonInstance;

  namespace autocannon {
    interface AutocannonOptions {
      url: string;
      connections?: number;
      duration?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      /** Seconds without a response before a request counts as a timeout. */
      timeout?: number;
    }

    interface Percentiles {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      p50: number;
      p90: number;
      p99: number;
      p99_9?: number;
    }

    interface AutocannonResult {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      latency: Percentiles & { totalCount: number };
      requests: Percentiles & { total: number; sent: number };
    }

    interface AutocannonInstance {
      stop(): void;
    }
  }

  export = autocannon;
}
