import { MODE_NAMES } from './bench-modes';
import { BenchUsageError, DEFAULT_OPTIONS, parseBenchOptions } from './bench-options';

describe(parseBenchOptions.name, () => {
  it('defaults to every mode with the documented load settings', () => {
    expect(parseBenchOptions([])).toEqual(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS.modes).toEqual(MODE_NAMES);
  });

  it('reads --flag value and --flag=value', () => {
    const options = parseBenchOptions(['--duration', '3', '--warmup=0', '--connections', '8']);

    expect(options).toMatchObject({ durationSeconds: 3, warmupSeconds: 0, connections: 8 });
  });

  it('keeps the references plain and bare first whatever subset of modes is asked for', () => {
    expect(parseBenchOptions(['--modes', 'full-100,metrics']).modes).toEqual([
      'plain',
      'bare',
      'metrics',
      'full-100',
    ]);
  });

  it('reads a list of modes to profile', () => {
    expect(parseBenchOptions(['--profile', 'full-10,metrics']).profile).toEqual([
      'full-10',
      'metrics',
    ]);
  });

  it.each([
    [['--duration', '0']],
    [['--connections', '2.5']],
    [['--modes', 'turbo']],
    [['--profile']],
    [['--colour', 'red']],
    [['stray']],
  ])('rejects %j with a usage error', (argv) => {
    expect(() => parseBenchOptions(argv)).toThrow(BenchUsageError);
  });
});
