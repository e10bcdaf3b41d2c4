import { join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT, type Doc } from './deploy-artefacts';

interface Model {
  validate(): void;
}
type ModelClass = new (data: Doc) => Model;

interface KindSchema {
  /** The model class of kubernetes-models (or its Prometheus Operator package), loaded on first use. */
  load: () => Promise<ModelClass>;
  /** The module and interface that declare the kind's fields, for the unknown-field check. */
  declaration: readonly [module: string, name: string];
}

/**
 * Every kind a manifest of this project may have. A kind missing here fails
 * validation: add its model before shipping it.
 */
const KINDS: Record<string, KindSchema> = {
  'v1/ConfigMap': {
    load: async () => (await import('kubernetes-models/v1')).ConfigMap,
    declaration: ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  },
  'v1/Secret': {
    load: async () => (await import('kubernetes-models/v1')).Secret,
    declaration: ['kubernetes-models/v1/Secret', 'ISecret'],
  },
  'v1/Service': {
    load: async () => (await import('kubernetes-models/v1')).Service,
    declaration: ['kubernetes-models/v1/Service', 'IService'],
  },
  'v1/ServiceAccount': {
    load: async () => (await import('kubernetes-models/v1')).ServiceAccount,
    declaration: ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  },
  'apps/v1/Deployment': {
    load: async () => (await import('kubernetes-models/apps/v1')).Deployment,
    declaration: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  },
  'policy/v1/PodDisruptionBudget': {
    load: async () => (await import('kubernetes-models/policy/v1')).PodDisruptionBudget,
    declaration: ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    load: async () => (await import('kubernetes-models/autoscaling/v2')).HorizontalPodAutoscaler,
    declaration: [
      'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
      'IHorizontalPodAutoscaler',
    ],
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    load: async () =>
      (await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'))
        .ServiceMonitor,
    declaration: [
      '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
      'IServiceMonitor',
    ],
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    load: async () =>
      (await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'))
        .PrometheusRule,
    declaration: [
      '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
      'IPrometheusRule',
    ],
  },
};

function kindKey(object: Record<string, Doc>): string {
  return `${String(object.apiVersion)}/${String(object.kind)}`;
}

/**
 * What the Kubernetes (or Prometheus Operator) schema says is wrong with a
 * manifest: the model's own validation (types, required fields, enums,
 * formats such as quantities and durations), then every field the schema does
 * not define (the API server would drop or refuse it). Empty when valid.
 */
export async function schemaProblems(object: Record<string, Doc>): Promise<string[]> {
  const key = kindKey(object);
  const kind = KINDS[key];
  if (!kind) return [`no schema known for ${key}`];
  const problems: string[] = [];
  const ModelOfKind = await kind.load();
  try {
    new ModelOfKind(object).validate();
  } catch (error) {
    problems.push((error as Error).message);
  }
  return [...problems, ...unknownFields(object)];
}

let declarations: { checker: ts.TypeChecker; types: Map<string, ts.Type> } | undefined;

/**
 * The kinds' interfaces, read with the TypeScript compiler from the
 * declaration files kubernetes-models generates from the OpenAPI schemas.
 */
function kindDeclarations(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  if (declarations) return declarations;
  const entries = Object.entries(KINDS);
  const virtualFile = join(REPO_ROOT, 'test/helpers/__kubernetes_kinds__.ts');
  const text = entries
    .map(
      ([, { declaration }], i) =>
        `import type { ${declaration[1]} as K${i} } from '${declaration[0]}';`,
    )
    .concat(`export interface Kinds { ${entries.map(([key], i) => `'${key}': K${i};`).join(' ')} }`)
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es5.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === virtualFile
      ? ts.createSourceFile(fileName, text, languageVersion)
      : getSourceFile(fileName, languageVersion, ...rest);
  host.fileExists = (fileName) => fileName === virtualFile || fileExists(fileName);
  const program = ts.createProgram([virtualFile], options, host);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(virtualFile);
  const kinds = source?.statements.find(ts.isInterfaceDeclaration);
  if (!kinds) throw new Error('the kinds declaration did not compile');
  const kindsType = checker.getTypeAtLocation(kinds);
  const types = new Map<string, ts.Type>();
  for (const [key] of entries) {
    const property = kindsType.getProperty(key);
    const type = property && typeOfSymbol(checker, property);
    if (!type || type.getProperties().length === 0) {
      throw new Error(`cannot resolve the declaration of ${key}: is the package installed?`);
    }
    types.set(key, type);
  }
  declarations = { checker, types };
  return declarations;
}

function typeOfSymbol(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Type {
  const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
  if (!declaration) throw new Error(`no declaration for ${symbol.name}`);
  return checker.getTypeOfSymbolAtLocation(symbol, declaration);
}

/** Every field path of the object that its kind's schema does not define. */
export function unknownFields(object: Record<string, Doc>): string[] {
  const { checker, types } = kindDeclarations();
  const type = types.get(kindKey(object));
  if (!type) return [`no schema known for ${kindKey(object)}`];
  const problems: string[] = [];
  walk(checker, object, type, '', problems);
  return problems.map((path) => `unknown field ${path}`);
}

const OPEN = ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive;
const NULLISH = ts.TypeFlags.Undefined | ts.TypeFlags.Null;

function walk(
  checker: ts.TypeChecker,
  value: unknown,
  type: ts.Type,
  path: string,
  problems: string[],
): void {
  if (value === null || typeof value !== 'object') return;
  const candidates = (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & NULLISH));
  // Free-form fields (x-kubernetes-preserve-unknown-fields) accept anything.
  if (candidates.some((t) => t.flags & OPEN)) return;
  if (Array.isArray(value)) {
    const element = candidates
      .filter((t) => checker.isArrayType(t))
      .map((t) => checker.getTypeArguments(t as ts.TypeReference)[0])
      .find((t) => t !== undefined);
    // A value of the wrong type is the model validation's to report.
    if (element)
      value.forEach((item, i) => walk(checker, item, element, `${path}[${i}]`, problems));
    return;
  }
  const objects = candidates.filter(
    (t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t),
  );
  if (objects.length === 0) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    const property = objects.map((t) => t.getProperty(key)).find((p) => p !== undefined);
    if (property) {
      walk(checker, child, typeOfSymbol(checker, property), childPath, problems);
      continue;
    }
    const indexed = objects
      .flatMap((t) => checker.getIndexInfosOfType(t))
      .find((info) => info.keyType.flags & ts.TypeFlags.String);
    if (indexed) walk(checker, child, indexed.type, childPath, problems);
    else problems.push(childPath);
  }
}
