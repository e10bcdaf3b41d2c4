import { ownerOf, summariseProfile, type CpuProfile } from './cpu-profile';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

describe(summariseProfile.name, () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('startActiveSpan', 'file:///app/node_modules/@opentelemetry/sdk-trace/build/src/Tracer.js', 9) },
      { id: 3, callFrame: frame('handle', 'file:///app/dist/src/info/info.controller.js', 4) },
      { id: 4, callFrame: frame('(idle)', '') },
      // The same function reached through another call path: one frame in the summary.
      { id: 5, callFrame: frame('startActiveSpan', 'file:///app/node_modules/@opentelemetry/sdk-trace/build/src/Tracer.js', 9) },
    ],
    samples: [2, 2, 3, 4, 5],
    timeDeltas: [1000, 1000, 500, 2000, 500],
  };

  it('adds up self time per function across call paths, largest first', () => {
    const summary = summariseProfile(profile);

    expect(summary.totalMs).toBe(5);
    expect(summary.frames[0]).toEqual({
      name: 'startActiveSpan @opentelemetry/sdk-trace/build/src/Tracer.js:10',
      selfMs: 2.5,
      share: 0.5,
    });
    expect(summary.frames.map((entry) => entry.name)).toContain('(idle)');
  });

  it('groups self time by package and by app folder', () => {
    const owners = summariseProfile(profile).owners;

    expect(owners).toEqual([
      { name: '@opentelemetry/sdk-trace', selfMs: 2.5, share: 0.5 },
      { name: '(idle)', selfMs: 2, share: 0.4 },
      { name: 'app src/info', selfMs: 0.5, share: 0.1 },
    ]);
  });
});

describe(ownerOf.name, () => {
  it.each([
    ['file:///w/node_modules/fastify/lib/route.js', 'fastify'],
    ['file:///w/node_modules/@nestjs/core/router/x.js', '@nestjs/core'],
    ['node:internal/streams/writable', 'node: internals'],
    ['file:///w/dist/src/observability/metrics/http-metrics.hooks.js', 'app src/observability/metrics'],
  ])('attributes %s to %s', (url, owner) => {
    expect(ownerOf(url)).toBe(owner);
  });
});
