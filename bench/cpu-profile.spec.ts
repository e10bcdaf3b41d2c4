import { ownerOf, summariseProfile, type CpuProfile } from './cpu-profile';

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});
const TRACER = 'file:///app/node_modules/@opentelemetry/sdk-trace/build/src/Tracer.js';

describe(summariseProfile.name, () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('startActiveSpan', TRACER, 9) },
      { id: 3, callFrame: frame('handle', 'file:///app/dist/src/info/info.controller.js', 4) },
      { id: 4, callFrame: frame('(idle)', '') },
      // The same function reached through another call path: one frame in the summary.
      { id: 5, callFrame: frame('startActiveSpan', TRACER, 9) },
      { id: 6, callFrame: frame('wrapSafe', 'node:internal/modules/cjs/loader', 1) },
    ],
    samples: [6, 2, 2, 3, 4, 5],
    timeDeltas: [3000, 1000, 1000, 500, 2000, 500],
  };

  it('adds up self time per function across call paths, as shares of busy time', () => {
    const summary = summariseProfile(profile, { skipFirstMs: 3 });

    expect(summary).toMatchObject({ busyMs: 3, idleMs: 2 });
    expect(summary.frames[0]).toEqual({
      name: 'startActiveSpan @opentelemetry/sdk-trace/build/src/Tracer.js:10',
      selfMs: 2.5,
      share: 2.5 / 3,
    });
    expect(summary.frames.map((entry) => entry.name)).not.toContain('(idle)');
  });

  it('leaves out the samples of the skipped start', () => {
    expect(summariseProfile(profile).frames[0].name).toContain('wrapSafe');
    expect(
      summariseProfile(profile, { skipFirstMs: 3 }).frames.map((entry) => entry.name),
    ).not.toContain('wrapSafe node:internal/modules/cjs/loader:2');
  });

  it('leaves out the samples after the end of the window', () => {
    const summary = summariseProfile(profile, { skipFirstMs: 3, untilMs: 5 });

    expect(summary.frames.map((entry) => [entry.name, entry.selfMs])).toEqual([
      ['startActiveSpan @opentelemetry/sdk-trace/build/src/Tracer.js:10', 2],
    ]);
  });

  it('groups self time by package and by app folder', () => {
    const owners = summariseProfile(profile, { skipFirstMs: 3 }).owners;

    expect(owners.map((owner) => [owner.name, owner.selfMs])).toEqual([
      ['@opentelemetry/sdk-trace', 2.5],
      ['app src/info', 0.5],
    ]);
  });
});

describe(ownerOf.name, () => {
  it.each([
    ['file:///w/node_modules/fastify/lib/route.js', 'fastify'],
    ['file:///w/node_modules/@nestjs/core/router/x.js', '@nestjs/core'],
    ['node:internal/streams/writable', 'node: internals'],
    ['', 'native writeUtf8String', 'writeUtf8String'],
    ['', '(garbage collector)', '(garbage collector)'],
    [
      'file:///w/dist/src/observability/metrics/http-metrics.hooks.js',
      'app src/observability/metrics',
    ],
  ])('attributes %j to %s', (url, owner, functionName = '') => {
    expect(ownerOf(url, functionName)).toBe(owner);
  });
});
