/** The parts of a V8 .cpuprofile (written by `node --cpu-prof`) the summary reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
  }[];
  readonly samples: readonly number[];
  /** Microseconds since the previous sample, one per sample. */
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) sampled time, 0..1. */
  readonly share: number;
}

export interface ProfileSummary {
  /** Sampled time after the skipped start, idle excluded. */
  readonly busyMs: number;
  readonly idleMs: number;
  /** Functions by self time, largest first. */
  readonly frames: readonly ProfileEntry[];
  /** Self time grouped by where the code lives (a package, a folder of the app, node internals). */
  readonly owners: readonly ProfileEntry[];
}

export interface SummariseOptions {
  /** Samples in the first `skipFirstMs` of the profile (start-up, warm-up) are left out. */
  readonly skipFirstMs?: number;
  /** Samples after `untilMs` from the start of the profile (shutdown) are left out too. */
  readonly untilMs?: number;
}

const IDLE = '(idle)';

/** Self time per function and per owner; `(idle)` is counted apart, the rest are shares of busy time. */
export function summariseProfile(
  profile: CpuProfile,
  options: SummariseOptions = {},
): ProfileSummary {
  const skipUs = (options.skipFirstMs ?? 0) * 1000;
  const untilUs = (options.untilMs ?? Infinity) * 1000;
  const byNode = new Map<number, number>();
  let elapsedUs = 0;
  profile.samples.forEach((nodeId, index) => {
    const delta = Math.max(0, profile.timeDeltas[index] ?? 0);
    elapsedUs += delta;
    if (elapsedUs <= skipUs || elapsedUs > untilUs) return;
    byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + delta);
  });
  const frames = new Map<string, number>();
  const owners = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const node of profile.nodes) {
    const selfUs = byNode.get(node.id);
    if (!selfUs) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (!url && functionName === IDLE) {
      idleUs += selfUs;
      continue;
    }
    busyUs += selfUs;
    const name = url
      ? `${functionName || '(anonymous)'} ${shortenUrl(url)}:${lineNumber + 1}`
      : functionName || '(anonymous)';
    frames.set(name, (frames.get(name) ?? 0) + selfUs);
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + selfUs);
  }
  const ranked = (entries: Map<string, number>): ProfileEntry[] =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    frames: ranked(frames),
    owners: ranked(owners),
  };
}

/** `node_modules/@opentelemetry/sdk-trace/...` → `@opentelemetry/sdk-trace`; the app's own code by folder (`app src/info`). */
export function ownerOf(url: string, functionName = ''): string {
  // Native bindings by name: socket writes, file writes and crypto are what differ between modes.
  if (!url)
    return functionName.startsWith('(') ? functionName : `native ${functionName || '(anonymous)'}`;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  if (url.startsWith('node:')) return 'node: internals';
  const own = /\/dist\/(.+)\/[^/]+$/.exec(url);
  if (own) return `app ${own[1]}`;
  return shortenUrl(url);
}

function shortenUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}
