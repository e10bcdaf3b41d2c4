import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { DEPLOY, REPO_ROOT, type Doc } from './deploy-artefacts';

const RENDERER_SOURCE = join(REPO_ROOT, 'tools/helm-render');
const GOPATH = '/usr/share/gocode';

/**
 * The Debian packages the renderer builds from (Go 1.19 in GOPATH mode; sprig,
 * sigs.k8s.io/yaml, yaml.v3, gojsonschema and toml pull in their own
 * dependencies).
 */
export const RENDERER_DEBIAN_PACKAGES = [
  'golang-go',
  'golang-github-masterminds-sprig-dev',
  'golang-k8s-sigs-yaml-dev',
  'golang-gopkg-yaml.v3-dev',
  'golang-github-xeipuuv-gojsonschema-dev',
  'golang-github-burntsushi-toml-dev',
];

const GO_IMPORTS = [
  'github.com/Masterminds/sprig',
  'sigs.k8s.io/yaml',
  'gopkg.in/yaml.v3',
  'github.com/xeipuuv/gojsonschema',
  'github.com/BurntSushi/toml',
];

/** What the renderer's build lacks on this machine (the go command, a library), or undefined. */
export function missingBuildNeeds(
  env: NodeJS.ProcessEnv = process.env,
  gopath: string = GOPATH,
): string | undefined {
  const go = spawnSync('go', ['version'], { encoding: 'utf8', env });
  if (go.error || go.status !== 0) return 'the go command is not on PATH';
  const missing = GO_IMPORTS.filter((path) => !existsSync(join(gopath, 'src', path)));
  if (missing.length > 0) return `${gopath}/src lacks ${missing.join(', ')}`;
  return undefined;
}

/** The error a test run fails with when the build cannot run: what is missing, and what installs it. */
export function buildNeedsError(missing: string): Error {
  return new Error(
    `Cannot build tools/helm-render: ${missing}. Install the Debian packages: ` +
      `apt-get install -y ${RENDERER_DEBIAN_PACKAGES.join(' ')}`,
  );
}

let builtBinary: string | undefined;

/**
 * Builds tools/helm-render once per source version into the OS temp dir (the
 * folder name carries a hash of the Go sources and the Go version) and returns
 * the binary's path. Builds offline, from the Debian packages above.
 */
export function helmRenderBinary(): string {
  if (builtBinary) return builtBinary;
  const missing = missingBuildNeeds();
  if (missing) throw buildNeedsError(missing);
  const hash = createHash('sha256');
  hash.update(spawnSync('go', ['version'], { encoding: 'utf8' }).stdout);
  for (const file of readdirSync(RENDERER_SOURCE).sort()) {
    if (file.endsWith('.go')) hash.update(file).update(readFileSync(join(RENDERER_SOURCE, file)));
  }
  const dir = join(tmpdir(), `eap-helm-render-${hash.digest('hex').slice(0, 16)}`);
  const binary = join(dir, 'helm-render');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    // Two jest workers may build at once: each writes its own file, and the rename is atomic.
    const partial = `${binary}.${process.pid}`;
    const build = spawnSync('go', ['build', '-o', partial, '.'], {
      cwd: RENDERER_SOURCE,
      encoding: 'utf8',
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH,
        GOCACHE: join(dir, 'gocache'),
        GOFLAGS: '',
      },
    });
    if (build.status !== 0) {
      throw new Error(
        `go build tools/helm-render failed (Debian packages needed: ${RENDERER_DEBIAN_PACKAGES.join(' ')}):\n${build.stderr}`,
      );
    }
    renameSync(partial, binary);
  }
  builtBinary = binary;
  return binary;
}

export interface RenderOptions {
  /** .Release.Name; helm's NAME argument. */
  release?: string;
  namespace?: string;
  /** --set entries, each `a.b=c` (Helm's syntax, commas included). */
  set?: string[];
  setString?: string[];
  /** Values files (-f), in order. */
  valueFiles?: string[];
  /** Values given as objects: each is written to a temporary file and passed with -f after valueFiles. */
  values?: Doc[];
  apiVersions?: string[];
  kubeVersion?: string;
  isUpgrade?: boolean;
  chartDir?: string;
}

export interface RenderedManifest {
  /** The `# Source:` of the document: <chart>/templates/<file>. */
  source: string;
  /** The document's text as helm template printed it. */
  text: string;
  object: Record<string, Doc>;
}

export interface Rendered {
  manifests: RenderedManifest[];
  notes: string;
  output: string;
}

/** A render that failed: `message` is the renderer's (Helm's) error text, after `Error: `. */
export class HelmRenderError extends Error {
  constructor(
    message: string,
    readonly argv: string[],
  ) {
    super(message);
    this.name = 'HelmRenderError';
  }
}

/** The argv for helm-render (and, with `helm template` in front, for Helm itself). */
export function renderArgs(options: RenderOptions, valueFiles: string[] = []): string[] {
  const args = [options.release ?? 'eap', options.chartDir ?? DEPLOY.chart];
  if (options.namespace) args.push('--namespace', options.namespace);
  for (const file of [...(options.valueFiles ?? []), ...valueFiles]) args.push('-f', file);
  for (const set of options.set ?? []) args.push('--set', set);
  for (const set of options.setString ?? []) args.push('--set-string', set);
  for (const version of options.apiVersions ?? []) args.push('--api-versions', version);
  if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
  if (options.isUpgrade) args.push('--is-upgrade');
  return args;
}

/**
 * Renders the chart as `helm template` would and parses every document as the
 * Kubernetes API reads YAML (YAML 1.1: `yes` and `on` are booleans; duplicate
 * keys are an error). Throws HelmRenderError when the render fails.
 */
export function renderChart(options: RenderOptions = {}): Rendered {
  const temp = options.values?.length ? mkdtempSync(join(tmpdir(), 'eap-values-')) : undefined;
  try {
    const files = (options.values ?? []).map((values, index) => {
      const file = join(temp ?? '', `values-${index}.yaml`);
      writeFileSync(file, stringify(values));
      return file;
    });
    const argv = [...renderArgs(options, files), '--notes'];
    const result = spawnSync(helmRenderBinary(), argv, { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new HelmRenderError(result.stderr.replace(/^Error: /, '').trim(), argv);
    }
    return parseRenderOutput(result.stdout);
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

/** The message a render fails with, or a thrown error when it renders. */
export function renderError(options: RenderOptions): string {
  try {
    renderChart(options);
  } catch (error) {
    if (error instanceof HelmRenderError) return error.message;
    throw error;
  }
  throw new Error(`expected the render to fail: ${renderArgs(options).join(' ')}`);
}

export function parseRenderOutput(output: string): Rendered {
  const notesAt = output.search(/^NOTES:\n/m);
  const manifestText = notesAt === -1 ? output : output.slice(0, notesAt);
  const notes = notesAt === -1 ? '' : output.slice(notesAt + 'NOTES:\n'.length);
  const manifests = manifestText
    .split(/^---\n(?=# Source: )/m)
    .filter((chunk) => chunk.trim() !== '')
    .map((chunk) => {
      const source = /^# Source: (.+)\n/.exec(chunk)?.[1];
      if (!source) throw new Error(`a rendered document without "# Source:":\n${chunk}`);
      const document = parseDocument(chunk, { version: '1.1', uniqueKeys: true });
      if (document.errors.length > 0) {
        throw new Error(`${source} is not valid YAML: ${document.errors[0]?.message}`);
      }
      // A document of comments only is printed by Helm too; it holds no object.
      const object = (document.toJS() ?? {}) as Record<string, Doc>;
      return { source, text: chunk, object };
    });
  return { manifests, notes, output };
}

/** The one rendered object of a kind (and name, when given); fails the test otherwise. */
export function findObject(rendered: Rendered, kind: string, name?: string): Record<string, Doc> {
  const found = objectsOf(rendered, kind).filter(
    (object) => name === undefined || object.metadata?.name === name,
  );
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}${name ? ` named ${name}` : ''}, rendered ${found.length}: ` +
        rendered.manifests.map((m) => `${m.object.kind}/${m.object.metadata?.name}`).join(', '),
    );
  }
  return found[0] ?? {};
}

export function objectsOf(rendered: Rendered, kind: string): Record<string, Doc>[] {
  return rendered.manifests.map((m) => m.object).filter((object) => object.kind === kind);
}

export function kindsOf(rendered: Rendered): string[] {
  return rendered.manifests.map((m) => m.object.kind as string);
}
