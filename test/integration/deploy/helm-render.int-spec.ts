import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  buildNeedsError,
  findObject,
  kindsOf,
  missingBuildNeeds,
  RENDERER_DEBIAN_PACKAGES,
  renderChart,
  renderError,
  type RenderOptions,
} from '../../helpers/helm-render';

/**
 * tools/helm-render against a small chart whose templates print what Helm
 * gives them. Each expectation is Helm's documented behaviour (helm template,
 * Helm 3): if the renderer drifts from it, the chart tests built on it would
 * prove nothing.
 */
const FIXTURE: Record<string, string> = {
  'Chart.yaml': [
    'apiVersion: v2',
    'name: fixture',
    'version: 1.2.3',
    "appVersion: '4.5'",
    "kubeVersion: '>=1.25.0-0'",
  ].join('\n'),
  'values.yaml': [
    'count: 2',
    'big: 3600000',
    'ratio: 0.25',
    'nested: { a: 1, b: { c: x } }',
    'removable: here',
    'list: [1, 2]',
  ].join('\n'),
  'values.schema.json': JSON.stringify({
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { count: { type: 'integer', minimum: 1 } },
  }),
  '.helmignore': '*.bak\nsecret/\n',
  'files/a.txt': 'alpha\n',
  'files/b.txt': 'beta\n',
  'files/old.bak': 'ignored\n',
  'secret/key.txt': 'ignored\n',
  'templates/_helpers.tpl':
    '{{- define "fixture.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end }}\n',
  'templates/values.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: values',
    'data:',
    '  json: {{ toJson .Values | quote }}',
    '  big: {{ .Values.big | quote }}',
    '  bigInt: {{ .Values.big | int | quote }}',
    '  missing: "{{ .Values.nothing }}"',
  ].join('\n'),
  'templates/context.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: context',
    'data:',
    '  release: "{{ .Release.Name }}/{{ .Release.Namespace }}/{{ .Release.Service }}/{{ .Release.IsInstall }}/{{ .Release.IsUpgrade }}/{{ .Release.Revision }}"',
    '  chart: "{{ .Chart.Name }}/{{ .Chart.Version }}/{{ .Chart.AppVersion }}/{{ .Chart.APIVersion }}"',
    '  kube: "{{ .Capabilities.KubeVersion.Version }}/{{ .Capabilities.KubeVersion.Major }}/{{ .Capabilities.KubeVersion.Minor }}"',
    '  apps: "{{ .Capabilities.APIVersions.Has "apps/v1" }}"',
    '  operator: "{{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}"',
    '  template: "{{ .Template.Name }} {{ .Template.BasePath }}"',
    '  include: "{{ include "fixture.name" . }}"',
    '  tpl: "{{ tpl "{{ .Release.Name }}+{{ include \\"fixture.name\\" . }}" . }}"',
    '  file: {{ .Files.Get "files/a.txt" | quote }}',
    '  glob: "{{ range $name, $_ := .Files.Glob "files/*" }}{{ $name }} {{ end }}"',
    '  ignored: "{{ .Files.Get "files/old.bak" }}{{ .Files.Get "secret/key.txt" }}"',
    '  lookup: "{{ len (lookup "v1" "Secret" "default" "x") }}"',
    '  asConfig: {{ (.Files.Glob "files/*.txt").AsConfig | quote }}',
    '  asSecrets: {{ (.Files.Glob "files/a.txt").AsSecrets | quote }}',
    '  yaml: {{ toYaml .Values.nested | quote }}',
    '  fromYaml: "{{ (fromYaml "a: 1").a }}"',
  ].join('\n'),
  'templates/multi.yaml': [
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: { name: second }',
    '---',
    '---',
    '# a comment-only document is still a document',
    '---',
    'apiVersion: example.com/v1',
    'kind: Widget',
    'metadata: { name: third }',
  ].join('\n'),
  'templates/empty.yaml': '{{- if .Values.never }}\nkind: Never\n{{- end }}\n',
  'templates/fail.yaml': '{{- if .Values.boom }}{{ fail "boom was asked for" }}{{ end }}\n',
  'templates/required.yaml':
    '{{- if .Values.needIt }}{{ required "needIt.value is required" .Values.needIt.value }}{{ end }}\n',
  'templates/NOTES.txt': 'Notes for {{ .Release.Name }}.\n',
};

describe('tools/helm-render (helm template rebuilt from text/template and sprig)', () => {
  let chartDir: string;
  const render = (options: RenderOptions = {}) => renderChart({ chartDir, ...options });
  const values = (options: RenderOptions = {}): Record<string, unknown> =>
    JSON.parse(findObject(render(options), 'ConfigMap', 'values').data.json as string);
  const context = (options: RenderOptions = {}): Record<string, string> =>
    findObject(render(options), 'ConfigMap', 'context').data;

  beforeAll(() => {
    chartDir = mkdtempSync(join(tmpdir(), 'eap-fixture-chart-'));
    for (const [file, text] of Object.entries(FIXTURE)) {
      mkdirSync(dirname(join(chartDir, file)), { recursive: true });
      writeFileSync(join(chartDir, file), text);
    }
  });
  afterAll(() => rmSync(chartDir, { recursive: true, force: true }));

  describe('values', () => {
    it('types --set values as Helm does: integers int64, true/false booleans, 0.5 and 007 strings', () => {
      expect(
        values({ set: ['n=1,t=true,f=FALSE,half=0.5,zero=0,octal=007,word=abc,empty='] }),
      ).toMatchObject({
        n: 1,
        t: true,
        f: false,
        half: '0.5',
        zero: 0,
        octal: '007',
        word: 'abc',
        empty: '',
      });
    });

    it('reads --set x={} as a list holding one empty string, not as an empty map (a Helm quirk)', () => {
      expect(values({ set: ['global={}'] }).global).toEqual(['']);
    });

    it('keeps every --set-string value a string', () => {
      expect(values({ setString: ['n=1,t=true,x=null'] })).toMatchObject({
        n: '1',
        t: 'true',
        x: 'null',
      });
    });

    it('parses nested keys, list indexes, {a,b} lists and escaped dots and commas', () => {
      expect(
        values({ set: ['a.b.c=1', 'l[1]=x', 'l[0].k=v', 'braces={p,q}', 'dotted\\.key=1\\,2'] }),
      ).toMatchObject({
        a: { b: { c: 1 } },
        l: [{ k: 'v' }, 'x'],
        braces: ['p', 'q'],
        'dotted.key': '1,2',
      });
    });

    it('merges values files in order, maps key by key, then applies --set over them', () => {
      expect(
        values({
          values: [{ nested: { a: 10, d: 1 }, list: [9] }, { nested: { d: 2 } }],
          set: ['nested.b.e=3'],
        }),
      ).toMatchObject({ nested: { a: 10, b: { c: 'x', e: 3 }, d: 2 }, list: [9], count: 2 });
    });

    it('removes a default that is set to null', () => {
      const result = values({ set: ['removable=null', 'nested.a=null'] });
      expect(result).not.toHaveProperty('removable');
      expect(result.nested).toEqual({ b: { c: 'x' } });
    });

    it('reads numbers of values files as floats: 3600000 prints as 3.6e+06 unless piped through int', () => {
      const data = findObject(render(), 'ConfigMap', 'values').data;
      expect([data.big, data.bigInt]).toEqual(['3.6e+06', '3600000']);
    });

    it('renders a missing value as empty, not "<no value>"', () => {
      expect(findObject(render(), 'ConfigMap', 'values').data.missing).toBe('');
    });

    it("refuses a malformed --set with Helm's message", () => {
      expect(renderError({ chartDir, set: ['justakey'] })).toBe(
        'failed parsing --set data: key "justakey" has no value',
      );
      expect(renderError({ chartDir, set: ['a,b=1'] })).toBe(
        'failed parsing --set data: key "a" has no value (cannot end with ,)',
      );
    });

    it('validates the coalesced values against values.schema.json and words the failure as Helm does', () => {
      expect(renderError({ chartDir, set: ['count=0'] })).toBe(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n" +
          'fixture:\n- count: Must be greater than or equal to 1',
      );
      expect(renderError({ chartDir, set: ['count=two'] })).toContain(
        '- count: Invalid type. Expected: integer, given: string',
      );
    });
  });

  describe('render context', () => {
    it('gives .Release, .Chart (capitalised fields), .Capabilities and .Template as helm template does', () => {
      expect(context({ release: 'rel', namespace: 'ns' })).toMatchObject({
        release: 'rel/ns/Helm/true/false/1',
        chart: 'fixture/1.2.3/4.5/v2',
        kube: 'v1.31.0/1/31',
        apps: 'true',
        operator: 'false',
        template: 'fixture/templates/context.yaml fixture/templates',
        include: 'fixture-rel',
        tpl: 'rel+fixture-rel',
      });
      expect(context({ isUpgrade: true }).release).toBe('eap/default/Helm/false/true/1');
    });

    it('adds --api-versions and --kube-version to .Capabilities', () => {
      expect(
        context({ apiVersions: ['monitoring.coreos.com/v1'], kubeVersion: '1.29.3' }),
      ).toMatchObject({ operator: 'true', kube: 'v1.29.3/1/29' });
    });

    it("refuses a Kubernetes version outside the chart's kubeVersion", () => {
      expect(renderError({ chartDir, kubeVersion: '1.24.0' })).toBe(
        'chart requires kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.24.0',
      );
    });

    it('serves chart files through .Files, without the ones .helmignore names', () => {
      expect(context()).toMatchObject({
        file: 'alpha\n',
        glob: 'files/a.txt files/b.txt ',
        ignored: '',
        asConfig: 'a.txt: |\n  alpha\nb.txt: |\n  beta',
        asSecrets: `a.txt: ${Buffer.from('alpha\n').toString('base64')}`,
      });
    });

    it('has sprig and Helm functions: lookup finds nothing, toYaml and fromYaml round-trip', () => {
      expect(context()).toMatchObject({ lookup: '0', yaml: 'a: 1\nb:\n  c: x', fromYaml: '1' });
    });

    it('does not have env or expandenv: a chart cannot read the machine it is rendered on', () => {
      const dir = mkdtempSync(join(tmpdir(), 'eap-fixture-env-'));
      try {
        writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: env\nversion: 0.1.0\n');
        mkdirSync(join(dir, 'templates'));
        writeFileSync(join(dir, 'templates/env.yaml'), 'home: {{ env "HOME" }}\n');
        expect(renderError({ chartDir: dir })).toMatch(
          /^parse error at \(env\/templates\/env\.yaml:1\): function "env" not defined$/,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('output', () => {
    it('prints each document once with its # Source, sorted by install order, unknown kinds last', () => {
      const rendered = render();
      expect(kindsOf(rendered)).toEqual([
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        undefined,
        'Widget',
      ]);
      expect(rendered.manifests.map((m) => m.source)).toEqual([
        'fixture/templates/context.yaml',
        'fixture/templates/values.yaml',
        'fixture/templates/multi.yaml',
        'fixture/templates/multi.yaml',
        'fixture/templates/multi.yaml',
      ]);
    });

    it('drops empty documents, renders no partial (_*.tpl), and keeps NOTES.txt out of the manifests', () => {
      const rendered = render();
      expect(rendered.output).not.toMatch(/Never|_helpers|NOTES\.txt/);
      expect(rendered.output.match(/^# Source: /gm)).toHaveLength(5);
      expect(rendered.notes).toBe('Notes for eap.\n');
    });

    it("stops at fail and required with Helm's message and the template's position", () => {
      expect(renderError({ chartDir, set: ['boom=true'] })).toBe(
        'execution error at (fixture/templates/fail.yaml:1:25): boom was asked for',
      );
      expect(renderError({ chartDir, set: ['needIt.other=1'] })).toBe(
        'execution error at (fixture/templates/required.yaml:1:27): needIt.value is required',
      );
    });
  });

  describe('build needs', () => {
    it('names what is missing: the go command, or a library under GOPATH', () => {
      expect(missingBuildNeeds()).toBeUndefined();
      expect(missingBuildNeeds({ PATH: '/nonexistent' })).toBe('the go command is not on PATH');
      expect(missingBuildNeeds(process.env, '/nonexistent')).toMatch(
        /^\/nonexistent\/src lacks github\.com\/Masterminds\/sprig, sigs\.k8s\.io\/yaml/,
      );
    });

    it('fails with the Debian packages that install it', () => {
      expect(buildNeedsError('the go command is not on PATH').message).toBe(
        'Cannot build tools/helm-render: the go command is not on PATH. Install the Debian packages: ' +
          `apt-get install -y ${RENDERER_DEBIAN_PACKAGES.join(' ')}`,
      );
      expect(RENDERER_DEBIAN_PACKAGES).toEqual(
        expect.arrayContaining(['golang-go', 'golang-github-masterminds-sprig-dev']),
      );
    });
  });
});
