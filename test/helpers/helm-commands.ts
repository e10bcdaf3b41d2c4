import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DEPLOY, REPO_ROOT } from './deploy-artefacts';
import type { RenderOptions } from './helm-render';

/** The user-facing docs: README.md and every docs/*.md. */
export function documentationFiles(): string[] {
  const docsDir = join(REPO_ROOT, 'docs');
  const docs = existsSync(docsDir)
    ? readdirSync(docsDir)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => join(docsDir, name))
    : [];
  return [join(REPO_ROOT, 'README.md'), ...docs];
}

/** A piece of shell from the docs: a fenced code block or an inline code span. */
export interface Snippet {
  file: string;
  /** 1-based line of the snippet's first line. */
  line: number;
  text: string;
}

export function markdownSnippets(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  const where = relative(REPO_ROOT, file);
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*(```+|~~~+)/.exec(lines[i] ?? '');
    if (fence) {
      const start = i + 1;
      let end = start;
      while (end < lines.length && !(lines[end] ?? '').trim().startsWith(fence[1] ?? '```')) end++;
      snippets.push({ file: where, line: start + 1, text: lines.slice(start, end).join('\n') });
      i = end;
      continue;
    }
    for (const match of (lines[i] ?? '').matchAll(/(`+)([^`]+?)\1/g)) {
      snippets.push({ file: where, line: i + 1, text: match[2] ?? '' });
    }
  }
  return snippets;
}

type Token = { word: string; offset: number } | { operator: string };

/**
 * Splits shell text into words and command separators, as a POSIX shell
 * would for what the docs use: quotes, backslash escapes and line
 * continuations, `#` comments, and `&&`, `||`, `|`, `;` and newlines between
 * commands. `$(...)` and variables stay as written: they are never values the
 * chart reads.
 */
export function shellTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let word: string | undefined;
  let offset = 0;
  const flush = () => {
    if (word !== undefined) tokens.push({ word, offset });
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (word === undefined && !/[\s;&|#]/.test(c)) offset = i;
    if (c === '\\') {
      if (text[i + 1] === '\n') {
        i++;
        continue;
      }
      word = (word ?? '') + (text[i + 1] ?? '');
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw new Error(`unterminated ' in: ${text}`);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let value = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && /["\\$`]/.test(text[j + 1] ?? '')) j++;
        value += text[j] ?? '';
      }
      if (j >= text.length) throw new Error(`unterminated " in: ${text}`);
      word = (word ?? '') + value;
      i = j;
    } else if (c === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '\n' || c === ';') {
      flush();
      tokens.push({ operator: c });
    } else if (c === '&' || c === '|') {
      flush();
      const double = text[i + 1] === c;
      tokens.push({ operator: double ? c + c : c });
      if (double) i++;
    } else if (/\s/.test(c)) {
      flush();
    } else {
      word = (word ?? '') + c;
    }
  }
  flush();
  return tokens;
}

/** A shell command from the docs: its words, program first. */
export interface DocumentedCommand {
  /** file:line, for messages. */
  where: string;
  words: string[];
}

/** Every shell command in the code blocks and code spans of the given markdown files, in order. */
export function documentedCommands(files: string[]): DocumentedCommand[] {
  const commands: DocumentedCommand[] = [];
  for (const file of files) {
    // Only snippets that run helm or kubectl: other code (PromQL, JSON) is not shell.
    for (const snippet of markdownSnippets(file).filter(({ text }) =>
      /(^|\s)(helm|kubectl)\s/.test(text),
    )) {
      let words: string[] = [];
      let line = snippet.line;
      const finish = () => {
        if (words.length > 0) commands.push({ where: `${snippet.file}:${line}`, words });
        words = [];
      };
      for (const token of shellTokens(snippet.text)) {
        if ('operator' in token) {
          finish();
          continue;
        }
        if (words.length === 0) {
          line = snippet.line + (snippet.text.slice(0, token.offset).match(/\n/g) ?? []).length;
        }
        words.push(token.word);
      }
      finish();
    }
  }
  return commands;
}

export type HelmSubcommand = 'install' | 'upgrade' | 'template' | 'lint';

export interface DocumentedHelmCommand {
  where: string;
  subcommand: HelmSubcommand;
  /** The words after `helm`, the subcommand included. */
  argv: string[];
}

const SUBCOMMANDS = new Set<string>(['install', 'upgrade', 'template', 'lint']);
/** Positional arguments each subcommand takes, the chart last. */
const POSITIONALS: Record<HelmSubcommand, number[]> = {
  install: [2],
  upgrade: [2],
  template: [1, 2],
  lint: [1],
};

/** Every `helm install|upgrade|template|lint` with its arguments in the given markdown files. */
export function documentedHelmCommands(files: string[]): DocumentedHelmCommand[] {
  return (
    documentedCommands(files)
      .filter(({ words }) => words[0] === 'helm' && SUBCOMMANDS.has(words[1] ?? ''))
      // A bare `helm install` in prose names the command; it is not one to run.
      .filter(({ words }) => words.length > 2)
      .map(({ where, words }) => ({
        where,
        subcommand: words[1] as HelmSubcommand,
        argv: words.slice(1),
      }))
  );
}

/**
 * The keys of every documented `kubectl create secret generic NAME
 * --from-literal=KEY=...`, by Secret name.
 */
export function documentedSecretKeys(files: string[]): Map<string, Set<string>> {
  const secrets = new Map<string, Set<string>>();
  for (const { words } of documentedCommands(files)) {
    if (words[0] !== 'kubectl') continue;
    const at = words.findIndex(
      (word, i) => word === 'create' && words[i + 1] === 'secret' && words[i + 2] === 'generic',
    );
    const name = at === -1 ? undefined : words[at + 3];
    if (!name) continue;
    const keys = secrets.get(name) ?? new Set<string>();
    for (const word of words) {
      const key = /^--from-literal=([^=]+)=/.exec(word)?.[1];
      if (key) keys.add(key);
    }
    secrets.set(name, keys);
  }
  return secrets;
}

const FLAGS_WITH_VALUES: Record<string, 'namespace' | 'values' | 'set' | 'set-string' | 'api'> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '-f': 'values',
  '--values': 'values',
  '--set': 'set',
  '--set-string': 'set-string',
  '-a': 'api',
  '--api-versions': 'api',
};
/** Flags that change nothing in what is rendered. */
const IGNORED_FLAGS = new Set([
  '--create-namespace',
  '--wait',
  '--atomic',
  '--install',
  '--debug',
  '--dry-run',
  '--strict',
  '--reuse-values',
]);
const IGNORED_FLAGS_WITH_VALUES = new Set(['--timeout', '--version']);

export interface ParsedHelmCommand {
  subcommand: HelmSubcommand;
  /** Whether the chart is this repository's chart; other charts are not rendered. */
  ourChart: boolean;
  chart: string;
  release: string;
  namespace: string;
  reuseValues: boolean;
  /** The values of this command alone (no reused values). */
  options: RenderOptions;
}

/**
 * Reads a documented command's flags as Helm does. Flags the renderer cannot
 * honour (--set-file, --set-json, a values file outside the repository) fail,
 * so a new kind of documented command is handled on purpose, not skipped.
 * Undefined for a mention without a chart (prose, not a command).
 */
export function parseHelmCommand(command: DocumentedHelmCommand): ParsedHelmCommand | undefined {
  const positional: string[] = [];
  const options: RenderOptions = { set: [], setString: [], valueFiles: [], apiVersions: [] };
  let namespace = 'default';
  let reuseValues = false;
  const args = command.argv.slice(1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const [flag = '', inline] = arg.startsWith('--') ? arg.split(/=(.*)/s, 2) : [arg];
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const value = args[++i];
      if (value === undefined) throw new Error(`${command.where}: ${flag} has no value`);
      return value;
    };
    if (flag === '--reuse-values') reuseValues = true;
    if (IGNORED_FLAGS.has(flag)) continue;
    if (IGNORED_FLAGS_WITH_VALUES.has(flag)) {
      takeValue();
      continue;
    }
    switch (FLAGS_WITH_VALUES[flag]) {
      case 'namespace':
        namespace = takeValue();
        break;
      case 'values': {
        const file = resolve(REPO_ROOT, takeValue());
        if (!existsSync(file) || !file.startsWith(REPO_ROOT)) {
          throw new Error(`${command.where}: values file ${file} is not in the repository`);
        }
        options.valueFiles?.push(file);
        break;
      }
      case 'set':
        options.set?.push(takeValue());
        break;
      case 'set-string':
        options.setString?.push(takeValue());
        break;
      case 'api':
        options.apiVersions?.push(...takeValue().split(','));
        break;
      case undefined:
        throw new Error(`${command.where}: helm ${command.subcommand} flag ${flag} is not handled`);
    }
  }
  // `helm upgrade --reuse-values` in a sentence names a flag; a command to run names a chart.
  if (positional.length === 0) return undefined;
  if (!POSITIONALS[command.subcommand].includes(positional.length)) {
    throw new Error(
      `${command.where}: helm ${command.subcommand} takes ${POSITIONALS[command.subcommand].join(' or ')} arguments, got: ${positional.join(' ')}`,
    );
  }
  const chart = positional[positional.length - 1] ?? '';
  const release =
    command.subcommand === 'lint' || positional.length === 1
      ? 'release-name'
      : (positional[0] ?? '');
  return {
    subcommand: command.subcommand,
    ourChart: resolve(REPO_ROOT, chart) === DEPLOY.chart,
    chart,
    release,
    namespace,
    reuseValues,
    options: { ...options, release, namespace },
  };
}

/**
 * The values a command renders with. `helm upgrade --reuse-values` starts from
 * the values of the release's previous install: the last `helm install` of the
 * same release and namespace among `earlier` (the documented commands that
 * come before it, in reading order).
 */
export function effectiveRenderOptions(
  parsed: ParsedHelmCommand,
  earlier: readonly ParsedHelmCommand[],
): RenderOptions {
  if (!parsed.reuseValues) return parsed.options;
  const install = [...earlier]
    .reverse()
    .find(
      (previous) =>
        previous.subcommand === 'install' &&
        previous.ourChart &&
        previous.release === parsed.release &&
        previous.namespace === parsed.namespace,
    );
  if (!install) {
    throw new Error(
      `helm upgrade ${parsed.release} --reuse-values: no documented helm install of that release in namespace ${parsed.namespace} comes before it`,
    );
  }
  const base = effectiveRenderOptions(install, []);
  return {
    ...parsed.options,
    valueFiles: [...(base.valueFiles ?? []), ...(parsed.options.valueFiles ?? [])],
    set: [...(base.set ?? []), ...(parsed.options.set ?? [])],
    setString: [...(base.setString ?? []), ...(parsed.options.setString ?? [])],
  };
}

export interface ValuesTableRow {
  where: string;
  /** The code spans of the key cell: values paths, `a.*` for everything under `a`. */
  keys: string[];
  /** The default cell's code span, when it is exactly one. */
  defaultText?: string;
}

/** The rows of every `| key | default | meaning |` table in the given markdown files. */
export function documentedValuesTables(files: string[]): ValuesTableRow[] {
  const rows: ValuesTableRow[] = [];
  const spans = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1] ?? '');
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^\|\s*key\s*\|\s*default\s*\|\s*meaning\s*\|\s*$/.test(lines[i] ?? '')) continue;
      for (let j = i + 2; j < lines.length && (lines[j] ?? '').startsWith('|'); j++) {
        const [keyCell = '', defaultCell = ''] = (lines[j] ?? '').split('|').slice(1);
        const defaults = spans(defaultCell);
        rows.push({
          where: `${relative(REPO_ROOT, file)}:${j + 1}`,
          keys: spans(keyCell),
          defaultText:
            defaults.length === 1 && defaultCell.trim() === `\`${defaults[0]}\``
              ? defaults[0]
              : undefined,
        });
      }
    }
  }
  return rows;
}
