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
  /** Share of all sampled time, 0..1. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Functions by self time. */
  readonly frames: readonly ProfileEntry[];
  /** Self time grouped by where the code lives (a package, the app's own src/, node internals). */
  readonly owners: readonly ProfileEntry[];
}

/** Self time per function and per owner, largest first; `(idle)` and `(program)` are kept: they show headroom. */
export function summariseProfile(profile: CpuProfile, top = 20): ProfileSummary {
  const byNode = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((nodeId, index) => {
    const delta = Math.max(0, profile.timeDeltas[index] ?? 0);
    byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + delta);
    totalUs += delta;
  });
  const frames = new Map<string, number>();
  const owners = new Map<string, number>();
  for (const node of profile.nodes) {
    const selfUs = byNode.get(node.id);
    if (!selfUs) continue;
    const { functionName, url, lineNumber } = node.callFrame;
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
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, frames: ranked(frames), owners: ranked(owners) };
}

/** `node_modules/@opentelemetry/sdk-trace/...` → `@opentelemetry/sdk-trace`; the app's own code by folder (`app src/info`). */
export function ownerOf(url: string, functionName = ''): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
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
