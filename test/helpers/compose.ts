/**
 * Reading deploy/docker-compose.yml without a Docker engine: what a service's
 * healthcheck probes (its own, or the one its image inherits from the
 * Dockerfile) and which port the service listens on, so a test can hold the
 * two together.
 */

import type { Doc } from './deploy-artefacts';

export type ComposeService = Record<string, Doc>;

export interface HttpProbe {
  readonly port: number;
  readonly path: string;
}

/**
 * Ports third-party images listen on when their command does not say
 * otherwise (each project's documented default).
 */
const IMAGE_DEFAULT_PORTS: Record<string, number> = {
  'prom/prometheus': 9090,
  'prom/alertmanager': 9093,
  'grafana/grafana': 3000,
  'jaegertracing/jaeger': 16686,
};

/** The Dockerfile's HEALTHCHECK command (its exec-form array), or undefined. */
export function dockerfileHealthcheck(dockerfile: string): string[] | undefined {
  const line = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .find((entry) => entry.startsWith('HEALTHCHECK '));
  const cmd = line ? /\bCMD (\[.*\])\s*$/.exec(line)?.[1] : undefined;
  return cmd ? (JSON.parse(cmd) as string[]) : undefined;
}

/** `ENV NAME=value` pairs of the Dockerfile's last stage (the runtime image). */
export function dockerfileEnv(dockerfile: string): Record<string, string> {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, block] of runtime.replace(/\\\n\s*/g, ' ').matchAll(/^ENV (.+)$/gm)) {
    for (const [, name, value] of (block ?? '').matchAll(/(\w+)=(\S+)/g)) {
      if (name && value !== undefined) env[name] = value;
    }
  }
  return env;
}

/** The environment a container of `service` sees: the image's, then the service's own. */
export function environmentOf(
  service: ComposeService,
  imageEnv: Record<string, string>,
): Record<string, string> {
  return { ...imageEnv, ...((service.environment ?? {}) as Record<string, string>) };
}

/**
 * What the healthcheck of `service` fetches over HTTP on the container's own
 * loopback, or undefined when it is not an HTTP probe. `inherited` is the
 * image's HEALTHCHECK, used when the service sets none.
 */
export function httpProbeOf(
  service: ComposeService,
  inherited: string[] | undefined,
  env: Record<string, string>,
): HttpProbe | undefined {
  const healthcheck = service.healthcheck as { test?: string | string[]; disable?: boolean };
  if (healthcheck?.disable) return undefined;
  const test = healthcheck?.test ?? inherited;
  if (!test) return undefined;
  const command = (Array.isArray(test) ? test : [test]).join(' ');
  // The Dockerfile's probe reads its port from the environment: 'http://127.0.0.1:'+(process.env.PORT||8000)+'/...'.
  const resolved = command.replace(
    /'\s*\+\s*\(process\.env\.(\w+)\s*\|\|\s*(\d+)\)\s*\+\s*'/g,
    (_match, name: string, fallback: string) => env[name] ?? fallback,
  );
  const url = /https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/[^\s'"`)]*)?/.exec(resolved);
  if (!url) return undefined;
  return { port: Number(url[1]), path: url[2] ?? '/' };
}

/**
 * The port the service's program listens on: `--port N` or
 * `--web.listen-address=...:N` in its command, else PORT for the app's own
 * image, else the image's documented default.
 */
export function listenPortOf(
  service: ComposeService,
  env: Record<string, string>,
  isAppImage: boolean,
): number | undefined {
  const command = ((service.command ?? []) as string[]).join(' ');
  const flag =
    /--port[= ](\d+)/.exec(command)?.[1] ?? /--web\.listen-address=\S*:(\d+)/.exec(command)?.[1];
  if (flag) return Number(flag);
  if (isAppImage) return env.PORT ? Number(env.PORT) : undefined;
  const repository = String(service.image ?? '').replace(/:[^:/]+$/, '');
  return IMAGE_DEFAULT_PORTS[repository];
}
