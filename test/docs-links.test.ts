import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

// The manual is README.md plus docs/*.md; each page must stand on its own and every link in it
// must lead somewhere. Paths are relative to the repository root, where `npm test` runs.

const README_MAX_LINES = 260;

const pages = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f))];

/** The text without fenced code blocks and inline code, where brackets and '#' are not markdown. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/``[^`\n]+``|`[^`\n]+`/g, '');
}

/**
 * The anchors GitHub generates for a page's headings: the heading's text (inline code kept,
 * markup dropped), lower-cased, every character but letters, digits, '_', '-' and spaces removed,
 * spaces turned into '-'; a repeated anchor gets -1, -2, ...
 */
function headingAnchors(markdown: string): Set<string> {
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = m[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[`*]/g, '');
    const base = text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test('heading anchors are computed the way GitHub does', () => {
  const anchors = headingAnchors('# A page\n## Chaos (`--chaos`)\n### Is it? (`client_bound`)\n## results.json\n## Again\n## Again\n```sh\n# not a heading\n```\n');
  assert.deepEqual([...anchors], ['a-page', 'chaos---chaos', 'is-it-client_bound', 'resultsjson', 'again', 'again-1']);
});

test(`README.md stays a front door: at most ${README_MAX_LINES} lines, the manual in docs/`, () => {
  const lines = readFileSync('README.md', 'utf8').split('\n').length;
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move detail into docs/`);
});

test('every relative link in README.md and docs/*.md points to a file that exists, and every anchor to a heading', () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(page, 'utf8');
    for (const m of prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const hash = target.indexOf('#');
      const pathPart = hash === -1 ? target : target.slice(0, hash);
      const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
      const file = pathPart === '' ? page : normalize(join(dirname(page), decodeURIComponent(pathPart)));
      if (!existsSync(file)) {
        broken.push(`${page}: ${target}: no such file ${file}`);
        continue;
      }
      if (anchor !== null) {
        if (!file.endsWith('.md') || statSync(file).isDirectory()) {
          broken.push(`${page}: ${target}: an anchor into a file that is not a markdown page`);
        } else if (!headingAnchors(readFileSync(file, 'utf8')).has(anchor)) {
          broken.push(`${page}: ${target}: no heading in ${file} has the anchor #${anchor}`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
});
