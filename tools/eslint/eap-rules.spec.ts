import { join, resolve } from 'node:path';
import { ESLint, Linter, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';

// CommonJS, shared with eslint.config.mjs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rules = require('./eap-rules.cjs') as {
  plugin: { rules: Record<string, Parameters<RuleTester['run']>[1]> };
  EVENT_LITERAL_SELECTORS: { selector: string; message: string }[];
};

const ROOT = resolve(__dirname, '../..');
const SRC = '/repo/src';
const at = (file: string): string => `${SRC}/${file}`;

RuleTester.describe = describe;
RuleTester.it = it;
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

tester.run('eap/module-boundaries', rules.plugin.rules['module-boundaries'], {
  valid: [
    {
      name: 'a module of a higher layer, through its index',
      filename: at('platform/agents/agent-runner.service.ts'),
      code: "import { LlmClient } from '../llm';\nimport { TraceAgent } from '../../observability/observers';",
      options: [{ srcRoot: SRC }],
    },
    {
      name: 'anything within the module itself',
      filename: at('observability/health/indicators/redis.health.ts'),
      code: "import { DEPENDENCY_CHECK_TTL_MS } from '../health.constants';",
      options: [{ srcRoot: SRC }],
    },
    {
      name: 'the composition root, through the indexes',
      filename: at('bootstrap.ts'),
      code: "import { registerObservability } from './observability/http-hooks';",
      options: [{ srcRoot: SRC }],
    },
    {
      name: 'packages',
      filename: at('platform/llm/llm-client.service.ts'),
      code: "import { Injectable } from '@nestjs/common';",
      options: [{ srcRoot: SRC }],
    },
    {
      name: 'files outside src (tests may reach inside)',
      filename: '/repo/test/e2e/x.e2e-spec.ts',
      code: "import { LlmClient } from '../../src/platform/llm/llm-client.service';",
      options: [{ srcRoot: SRC }],
    },
  ],
  invalid: [
    {
      name: "another module's file instead of its index",
      filename: at('platform/agents/agent-runner.service.ts'),
      code: "import { LlmClient } from '../llm/llm-client.service';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'throughIndex' }],
    },
    {
      name: 're-exporting another module’s file',
      filename: at('platform/tools/index.ts'),
      code: "export { KnowledgeService } from '../knowledge/knowledge.service';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'throughIndex' }],
    },
    {
      name: 'observability importing the platform',
      filename: at('observability/metrics/metrics.service.ts'),
      code: "import type { RunOutcome } from '../../platform/agents';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'upwards' }],
    },
    {
      name: 'observability importing http',
      filename: at('observability/logging/access-log.plugin.ts'),
      code: "import { toErrorBody } from '../../http';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'upwards' }],
    },
    {
      name: 'observability importing info',
      filename: at('observability/telemetry/telemetry.sdk.ts'),
      code: "import { InfoModule } from '../../info';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'upwards' }],
    },
    {
      name: 'two modules of one layer (a cycle in waiting)',
      filename: at('platform/llm/llm-client.service.ts'),
      code: "import { TenantsService } from '../tenants';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'upwards' }],
    },
    {
      name: 'the config importing a pillar',
      filename: at('config/load-config.ts'),
      code: "import { LOG_EVENTS } from '../observability/catalog';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'upwards' }],
    },
    {
      name: 'a module importing the composition root',
      filename: at('platform/agents/runs.service.ts'),
      code: "import { createApp } from '../../bootstrap';",
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'upwards' }],
    },
    {
      name: 'a folder that is in no layer',
      filename: at('observability/shiny/new.ts'),
      code: 'export const x = 1;',
      options: [{ srcRoot: SRC }],
      errors: [{ messageId: 'unknownModule' }],
    },
  ],
});

describe('the project lint configuration', () => {
  const eslint = new ESLint({ cwd: ROOT });

  it('applies the boundary rule and the event-literal rule to the domain and the pillars', async () => {
    for (const file of [
      'src/platform/agents/agent-runner.service.ts',
      'src/observability/metrics/metrics.service.ts',
    ]) {
      const config = (await eslint.calculateConfigForFile(join(ROOT, file))) as Linter.Config;
      expect(config.rules?.['eap/module-boundaries']).toEqual([2]);
      expect(config.rules?.['no-restricted-syntax']).toEqual([2, ...rules.EVENT_LITERAL_SELECTORS]);
    }
  });

  it('leaves the catalog free to spell the event names', async () => {
    const config = (await eslint.calculateConfigForFile(
      join(ROOT, 'src/observability/catalog/log-events.ts'),
    )) as Linter.Config;
    expect(config.rules?.['no-restricted-syntax']).toBeUndefined();
  });

  it('keeps TypeORM’s own repositories out of the domain, except the tenants module', async () => {
    const domain = (await eslint.calculateConfigForFile(
      join(ROOT, 'src/platform/knowledge/knowledge.service.ts'),
    )) as Linter.Config;
    expect(domain.rules?.['@typescript-eslint/no-restricted-imports']).toEqual([
      2,
      expect.objectContaining({ paths: expect.any(Array) }),
    ]);
    const tenants = (await eslint.calculateConfigForFile(
      join(ROOT, 'src/platform/tenants/tenants.service.ts'),
    )) as Linter.Config;
    expect(tenants.rules?.['@typescript-eslint/no-restricted-imports']).toBeUndefined();
  });
});

describe('the event-literal rule', () => {
  const linter = new Linter();
  const lint = (code: string) =>
    linter.verify(code, {
      languageOptions: { parser: tseslint.parser },
      rules: { 'no-restricted-syntax': ['error', ...rules.EVENT_LITERAL_SELECTORS] },
    });

  it.each([
    ["logger.info({ event: 'agent.execute.started' }, 'x')"],
    ['logger.warn({ event: `budget.${kind}` })'],
  ])('rejects %s', (code) => {
    expect(lint(code).map((message) => message.ruleId)).toEqual(['no-restricted-syntax']);
  });

  it('accepts the catalog constant', () => {
    expect(lint("logger.info({ event: LOG_EVENTS.agentExecuteStarted }, 'x')")).toEqual([]);
  });
});
