import { MODE_NAMES, REFERENCE_MODES, type ModeName } from './bench-modes';

export interface BenchOptions {
  /** Seconds of measured load per endpoint and mode. */
  readonly durationSeconds: number;
  /** Seconds of unmeasured load before each measurement (JIT, pools, caches). */
  readonly warmupSeconds: number;
  /** Concurrent autocannon connections. */
  readonly connections: number;
  /** Measurements of every mode and endpoint, interleaved round by round. */
  readonly rounds: number;
  /** Modes to run; plain and bare are always among them. */
  readonly modes: readonly ModeName[];
  /**
   * Modes profiled after the measurements: each runs once more alone under
   * `node --cpu-prof` on /v1/info, bare too for comparison; the per-request
   * self time by owner and the top frames go into the report.
   */
  readonly profile: readonly ModeName[];
  /** Where the markdown report is written. */
  readonly output: string;
  /** Tenants' budget series rendered in the /metrics cost measurement. */
  readonly tenants: number;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  durationSeconds: 4,
  warmupSeconds: 1,
  connections: 32,
  rounds: 3,
  modes: MODE_NAMES,
  profile: [],
  output: 'bench/results/latest.md',
  tenants: 1000,
};

export const USAGE = `Usage: npm run bench -- [options]
  --duration <s>      measured seconds per endpoint and mode (default ${DEFAULT_OPTIONS.durationSeconds})
  --warmup <s>        warm-up seconds before each measurement (default ${DEFAULT_OPTIONS.warmupSeconds})
  --connections <n>   concurrent connections (default ${DEFAULT_OPTIONS.connections})
  --rounds <n>        interleaved measurements of every mode and endpoint (default ${DEFAULT_OPTIONS.rounds})
  --modes <a,b,...>   subset of: ${MODE_NAMES.join(', ')} (${REFERENCE_MODES.join(' and ')} always run)
  --profile <a,b,..>  profile these modes (and bare) under node --cpu-prof on /v1/info; report top frames
  --tenants <n>       tenants' budget series for the /metrics render cost (default ${DEFAULT_OPTIONS.tenants})
  --output <file>     markdown report (default ${DEFAULT_OPTIONS.output})`;

export class BenchUsageError extends Error {}

const FLAGS = new Set([
  'duration',
  'warmup',
  'connections',
  'rounds',
  'modes',
  'profile',
  'tenants',
  'output',
]);

/** Parses `--flag value` / `--flag=value` arguments; throws BenchUsageError on anything unknown or invalid. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new BenchUsageError(USAGE);
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new BenchUsageError(`unexpected argument "${arg}"\n${USAGE}`);
    if (!FLAGS.has(match[1])) throw new BenchUsageError(`unknown option --${match[1]}\n${USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new BenchUsageError(`--${match[1]} needs a value`);
    values.set(match[1], value);
  }

  const options: { -readonly [K in keyof BenchOptions]: BenchOptions[K] } = { ...DEFAULT_OPTIONS };
  for (const [flag, value] of values) {
    switch (flag) {
      case 'duration':
        options.durationSeconds = positiveNumber(flag, value);
        break;
      case 'warmup':
        options.warmupSeconds = positiveNumber(flag, value, true);
        break;
      case 'connections':
        options.connections = positiveInteger(flag, value);
        break;
      case 'rounds':
        options.rounds = positiveInteger(flag, value);
        break;
      case 'tenants':
        options.tenants = positiveInteger(flag, value);
        break;
      case 'output':
        options.output = value;
        break;
      case 'profile':
        options.profile = modeList(value);
        break;
      case 'modes': {
        const chosen = new Set(modeList(value));
        options.modes = MODE_NAMES.filter(
          (name) => REFERENCE_MODES.includes(name) || chosen.has(name),
        );
        break;
      }
      default:
        throw new BenchUsageError(`unknown option --${flag}\n${USAGE}`);
    }
  }
  return options;
}

function positiveNumber(flag: string, value: string, allowZero = false): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || (!allowZero && number === 0)) {
    throw new BenchUsageError(
      `--${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${value}"`,
    );
  }
  return number;
}

function positiveInteger(flag: string, value: string): number {
  const number = positiveNumber(flag, value);
  if (!Number.isInteger(number))
    throw new BenchUsageError(`--${flag} must be an integer, got "${value}"`);
  return number;
}

function modeList(value: string): ModeName[] {
  return value.split(',').map((name) => modeName(name.trim()));
}

function modeName(value: string): ModeName {
  if (!(MODE_NAMES as readonly string[]).includes(value)) {
    throw new BenchUsageError(`unknown mode "${value}"; one of: ${MODE_NAMES.join(', ')}`);
  }
  return value as ModeName;
}
