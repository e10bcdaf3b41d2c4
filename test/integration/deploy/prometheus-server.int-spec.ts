import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startPrometheus } from '../../helpers/prometheus-server';

function prometheusTempDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('eap-prometheus-'));
}

describe(startPrometheus.name, () => {
  it('starts a real Prometheus that answers queries, and removes it and its files on close', async () => {
    const before = prometheusTempDirs();
    const prometheus = await startPrometheus({
      global: { scrape_interval: '1s' },
      scrape_configs: [],
    });
    try {
      const result = await prometheus.query('vector(1) + 1');
      expect(result).toMatchObject({
        status: 'success',
        data: { result: [{ value: [expect.any(Number), '2'] }] },
      });
      const parseError = await prometheus.query('sum(rate(');
      expect(parseError).toMatchObject({ status: 'error', errorType: 'bad_data' });
    } finally {
      await prometheus.close();
      await prometheus.close();
    }
    expect(prometheusTempDirs()).toEqual(before);
    await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
  });

  it("fails with Prometheus' own error on an invalid configuration and leaves nothing behind", async () => {
    const before = prometheusTempDirs();
    await expect(
      startPrometheus({ scrape_configs: [{ job_name: 'broken', scrape_interval: 'often' }] }),
    ).rejects.toThrow(/prometheus (exited|did not become ready)[\s\S]*often/);
    expect(prometheusTempDirs()).toEqual(before);
  });
});
