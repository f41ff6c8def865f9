/**
 * The README's runnable examples, read from README.md itself (no second copy that can drift). A fenced block
 * is run when its info string says `test` after the language (`ts test=openai`, `sh test`); GitHub shows
 * only the language. A block that looks runnable (curl in a shell block, an import in a TS or JS block) must
 * say `test` or `no-test`, so a new example is never skipped unnoticed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface Example {
  readonly language: 'ts' | 'sh';
  /** `test=<name>`, else `sh` plus the README line it starts on. */
  readonly name: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
}

export interface Fence {
  readonly info: string;
  readonly line: number;
  readonly code: string;
}

/** Every fenced block of a Markdown text (``` fences only, as this README uses). */
export function fences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    if (end < 0) throw new Error(`README.md line ${i + 1}: a fence that never closes`);
    found.push({ info: (open[1] ?? '').trim(), line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

/** The examples to run; throws naming the line of a runnable-looking block that says neither `test` nor `no-test`. */
export function examples(markdown: string): Example[] {
  const result: Example[] = [];
  for (const fence of fences(markdown)) {
    const [language = '', ...tags] = fence.info.split(/\s+/);
    const test = tags.find((t) => t === 'test' || t.startsWith('test='));
    const runnable =
      (['sh', 'bash'].includes(language) && /\bcurl\b/.test(fence.code)) ||
      (['ts', 'js'].includes(language) && /^import /m.test(fence.code));
    if (test === undefined) {
      if (runnable && !tags.includes('no-test')) {
        throw new Error(
          `README.md line ${fence.line}: a runnable ${language} example without "test" or "no-test" in its fence (\`\`\`${language} test)`,
        );
      }
      continue;
    }
    if (language !== 'ts' && language !== 'sh') throw new Error(`README.md line ${fence.line}: cannot run ${language}`);
    const name = test.startsWith('test=') ? test.slice('test='.length) : `${language} at line ${fence.line}`;
    result.push({ language, name, line: fence.line, code: fence.code });
  }
  return result;
}

export function readmeExamples(repoRoot: string): Example[] {
  return examples(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
}

/** A TS example as Node runs it: an ES module (top-level await, the packages' ESM entries), types erased. */
export function toModule(code: string): string {
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  }).outputText;
}

/**
 * A shell example as bash runs it, exactly as printed, after two lines that make a failure fail the run:
 * `set -eo pipefail`, and curl with `--fail-with-body` (an error status exits non-zero, its body still shows).
 */
export function toScript(code: string): string {
  return ['set -eo pipefail', 'curl() { command curl --fail-with-body --silent --show-error "$@"; }', code, ''].join(
    '\n',
  );
}

/**
 * Type errors in TS examples (`.mts` files), as a reader's `strict` project with Node's module resolution would
 * report them; empty when they compile. Library declaration files are not checked (`skipLibCheck`).
 */
export function typeErrors(files: readonly string[]): string[] {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}
