import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Doc } from './deploy-artefacts';

/** Placeholder for a template expression the skeleton does not evaluate. */
export const TEMPLATED = 'TEMPLATED';

/** Release-qualified name the skeleton gives `include "eap.fullname" .` */
export const SKELETON_FULLNAME = 'release-enterprise-agent-platform';

/** Every template file of a chart (templates/*), by file name. */
export function readChartTemplates(chartDir: string): Map<string, string> {
  const dir = join(chartDir, 'templates');
  return new Map(
    readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')] as const),
  );
}

/** Every `.Values.a.b` path the templates read, as `a.b`. */
export function valuePathsReadBy(templates: Iterable<string>): Set<string> {
  const paths = new Set<string>();
  for (const text of templates) {
    for (const match of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      paths.add((match[1] ?? '').slice(1));
    }
  }
  return paths;
}

export function hasPath(values: unknown, path: string): boolean {
  let node: unknown = values;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

function valueAt(values: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
}

/**
 * A structural render of a Helm template, for tests on a machine without
 * Helm. It is NOT Helm: control flow is ignored (lines holding only actions
 * are dropped, so both branches of an `if` stay), `.Values.x`, `.Values.x | quote`
 * and `.Values.x | int | quote` are substituted, `include "eap.fullname" .` becomes
 * SKELETON_FULLNAME, `.Files.Get "f" | nindent N` inserts the chart file
 * indented, and any other expression becomes TEMPLATED. What it proves: the
 * YAML around the expressions is well formed, and fields that are plain
 * values (paths, ports, names) are what the test expects.
 */
export function renderSkeleton(
  template: string,
  values: unknown,
  readChartFile: (path: string) => string = () => {
    throw new Error('no chart files given');
  },
): Record<string, Doc>[] {
  // Chart files are inserted last: their text is not template text.
  const files: string[] = [];
  const withFiles = template.replace(
    /[ \t]*\n?[ \t]*\{\{-\s*\.Files\.Get\s+"([^"]+)"\s*\|\s*nindent\s+(\d+)\s*\}\}/g,
    (_match, file: string, indent: string) => {
      files.push(
        readChartFile(file)
          .split('\n')
          .map((line) => (line === '' ? '' : ' '.repeat(Number(indent)) + line))
          .join('\n'),
      );
      return `\n@@FILE${files.length - 1}@@`;
    },
  );
  const lines = withFiles
    .split('\n')
    .filter((line) => !/^\s*(\{\{[^}]*\}\}\s*)+$/.test(line))
    .map((line) =>
      line.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_match, expression: string) => {
        const value = /^\.Values\.([\w.]+)(\s*\|\s*int)?(\s*\|\s*quote)?$/.exec(expression);
        if (value?.[1]) {
          const raw = valueAt(values, value[1]);
          const resolved = value[2] && typeof raw === 'number' ? Math.trunc(raw) : raw;
          return value[3] ? JSON.stringify(String(resolved)) : String(resolved);
        }
        if (/^include "eap\.fullname" \.$/.test(expression)) return SKELETON_FULLNAME;
        return TEMPLATED;
      }),
    )
    .map((line) =>
      line.replace(/^@@FILE(\d+)@@$/, (_match, index: string) => files[Number(index)] ?? ''),
    );
  return parseAllDocuments(lines.join('\n'))
    .map((document) => {
      if (document.errors.length > 0) throw document.errors[0];
      return document.toJS() as Record<string, Doc> | null;
    })
    .filter((document): document is Record<string, Doc> => document !== null);
}

/** Openers (if/with/range/define) and `end`s of a template, which must balance. */
export function countBlockActions(template: string): { opened: number; ended: number } {
  return {
    opened: [...template.matchAll(/\{\{-?\s*(if|with|range|define)\b/g)].length,
    ended: [...template.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length,
  };
}
