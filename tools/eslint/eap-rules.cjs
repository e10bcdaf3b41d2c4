// The project's own lint rules, as an ESLint plugin (`eap/...`). CommonJS so that
// both eslint.config.mjs and the jest specs can load it.
'use strict';
const path = require('node:path');

/**
 * The modules of src/, bottom layer first. A module may import only modules
 * of lower layers, and only through their index.ts; files directly under
 * src/ (main.ts, bootstrap.ts, ...) are the composition root, above all.
 * Within a module, any relative import is fine.
 */
const LAYERS = [
  ['common', 'config'],
  ['observability/catalog', 'observability/context'],
  ['observability/logging', 'database'],
  ['observability/telemetry', 'redis'],
  ['observability/metrics'],
  ['observability/observers'],
  ['observability/health'],
  ['observability/management', 'observability/http-hooks'],
  ['platform/tenants', 'platform/llm', 'http', 'info'],
  ['platform/knowledge', 'platform/budgets'],
  ['platform/tools'],
  ['platform/agents'],
];

const RANK = new Map(LAYERS.flatMap((modules, rank) => modules.map((module) => [module, rank])));
const ROOT_RANK = LAYERS.length;
const MODULES = [...RANK.keys()].sort((a, b) => b.length - a.length);

/** The module a path of src/ belongs to: `platform/agents`, `''` for the root files, undefined outside src. */
function moduleOf(srcRoot, file) {
  const relative = path.relative(srcRoot, file).split(path.sep).join('/');
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return MODULES.find((module) => relative === module || relative.startsWith(`${module}/`)) ?? '';
}

/** @type {import('eslint').Rule.RuleModule} */
const moduleBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'modules import each other only through index.ts, downwards' },
    schema: [
      {
        type: 'object',
        properties: { srcRoot: { type: 'string' } },
        additionalProperties: false,
      },
    ],
    messages: {
      throughIndex:
        "Import the {{target}} module through its index.ts ('{{suggestion}}'), not its file '{{source}}'.",
      upwards:
        'The {{from}} module may not import {{target}}: imports go down the layers (see LAYERS in tools/eslint/eap-rules.cjs).',
      unknownModule:
        '{{file}} is in no module of LAYERS (tools/eslint/eap-rules.cjs): add its folder to a layer.',
    },
  },
  create(context) {
    const srcRoot = path.resolve(context.options[0]?.srcRoot ?? path.join(context.cwd, 'src'));
    const file = context.filename;
    const from = moduleOf(srcRoot, file);
    if (from === undefined) return {};
    const check = (node) => {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const resolved = path.resolve(path.dirname(file), source);
      const target = moduleOf(srcRoot, resolved);
      if (target === undefined || target === from) return;
      if (target === '') {
        context.report({
          node: node.source,
          messageId: 'upwards',
          data: { from, target: 'the root' },
        });
        return;
      }
      const targetRoot = path.join(srcRoot, target);
      if (resolved !== targetRoot && resolved !== path.join(targetRoot, 'index')) {
        const suggestion = path.relative(path.dirname(file), targetRoot).split(path.sep).join('/');
        context.report({
          node: node.source,
          messageId: 'throughIndex',
          data: {
            target,
            source,
            suggestion: suggestion.startsWith('.') ? suggestion : `./${suggestion}`,
          },
        });
        return;
      }
      const fromRank = from === '' ? ROOT_RANK : RANK.get(from);
      if (RANK.get(target) >= fromRank) {
        context.report({
          node: node.source,
          messageId: 'upwards',
          data: { from: from || 'root', target },
        });
      }
    };
    return {
      Program(node) {
        const relative = path.relative(srcRoot, file).split(path.sep).join('/');
        if (from === '' && relative.includes('/')) {
          context.report({ node, messageId: 'unknownModule', data: { file: relative } });
        }
      },
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
    };
  },
};

/**
 * `event: '...'` written out anywhere but the catalog: log events are names
 * that log queries, alerts and runbooks depend on, so they live in one place.
 */
const EVENT_LITERAL_SELECTORS = [
  {
    selector: "Property[key.name='event'][value.type='Literal']",
    message: 'Log events come from LOG_EVENTS in src/observability/catalog, not literals.',
  },
  {
    selector: "Property[key.name='event'][value.type='TemplateLiteral']",
    message: 'Log events come from LOG_EVENTS in src/observability/catalog, not literals.',
  },
];

/** TypeORM's own repositories stay out of the domain: tenant-owned rows go through the scoped ones. */
const UNSCOPED_REPOSITORY_IMPORTS = {
  paths: [
    {
      name: '@nestjs/typeorm',
      importNames: ['InjectRepository', 'TypeOrmModule', 'getRepositoryToken'],
      message:
        'Inject tenant-owned repositories with InjectTenantScopedRepository (src/platform/tenants).',
    },
  ],
};

module.exports = {
  plugin: { meta: { name: 'eap' }, rules: { 'module-boundaries': moduleBoundaries } },
  LAYERS,
  EVENT_LITERAL_SELECTORS,
  UNSCOPED_REPOSITORY_IMPORTS,
};
