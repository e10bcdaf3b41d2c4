import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { readText, REPO_ROOT } from '../../helpers/deploy-artefacts';

const DOCS = [
  join(REPO_ROOT, 'README.md'),
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(REPO_ROOT, 'docs', name)),
];

/** The lines of a markdown file outside fenced code blocks. */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6} (.+)$/.exec(line)?.[1];
    if (!heading) continue;
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    let candidate = slug;
    for (let n = 1; anchors.has(candidate); n++) candidate = `${slug}-${n}`;
    anchors.add(candidate);
  }
  return anchors;
}

/** Relative links of the prose ([text](target)), code spans left out. */
function relativeLinks(markdown: string): string[] {
  const prose = proseLines(markdown)
    .join('\n')
    .replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1])
    .filter((target) => !/^[a-z]+:/.test(target));
}

describe('README and docs/', () => {
  it.each(DOCS.map((file) => [relative(REPO_ROOT, file), file]))(
    '%s links only to files and headings that exist',
    (_name, file) => {
      const broken = relativeLinks(readText(file)).filter((link) => {
        const [path, anchor] = link.split('#');
        const target = path === '' ? file : resolve(dirname(file), path);
        if (!existsSync(target)) return true;
        return anchor !== undefined && !anchorsOf(readText(target)).has(anchor);
      });
      expect(broken).toEqual([]);
    },
  );

  it.each(DOCS.map((file) => [relative(REPO_ROOT, file), file]))(
    '%s states reasons instead of pointing at the product contract, which is not in the repository',
    (_name, file) => {
      expect(readText(file)).not.toMatch(/\bSPEC\b/);
    },
  );

  it('leads with the commands CI runs: .ci/run is the README test command, step by step', () => {
    const readmeCommands = leadingCommands(readText(join(REPO_ROOT, 'README.md')));
    const testCommand = readmeCommands.find((command) => command.endsWith('npm test'));
    const ciSteps = readText(join(REPO_ROOT, '.ci/run'))
      .split('\n')
      .filter((line) => line !== '' && !/^(#|set |cd |echo )/.test(line));

    expect(testCommand?.split(' && ')).toEqual(ciSteps);
    expect(readmeCommands[0]).toBe('. scripts/use-node.sh && npm ci && npm run demo');
  });
});

/** The lines of the README's first code block: the commands it leads with. */
function leadingCommands(readme: string): string[] {
  const block = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block.trim().split('\n');
}
