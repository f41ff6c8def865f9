/**
 * The README is a test: every example it marks runnable runs exactly as printed against the real `npm start`
 * on its default ports (7071 API, 7081/7082 regions, 7083 sign-in, 10002 Azurite), as a reader would run it.
 * TypeScript examples run as ES modules with the project's packages (the real openai, Vercel AI SDK,
 * LangChain and AI Chat Protocol clients); shell examples run in bash with curl (and jq, which the README's
 * sign-in line uses). If something else holds those ports (another `npm start`), `npm start` refuses to start
 * and this test fails with its message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../transpile';
import { readmeExamples, toModule, toScript, typeErrors, type Example } from './examples';

/** The clients the README must show, each as its own runnable example. */
const REQUIRED = ['openai', 'vercel-ai', 'vercel-ai-chat', 'langchain-responses', 'langchain-chat', 'ai-chat-protocol'];

const examples = readmeExamples(repoRoot);
let server: ChildProcess | undefined;
let output = '';
let dir: string;

/** Resolves once `npm start` says the API is up; rejects with its output if it exits first. */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Chat backend at ')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(
        new Error(`npm start exited (${code}) before it served the API (README examples need its ports):\n${output}`),
      ),
    );
  });
}

/** Where an example is written: TS as its source (`.mts`, for the type check) and as Node runs it (`.mjs`). */
function fileOf(example: Example, extension: 'mts' | 'mjs' | 'sh'): string {
  return join(dir, `${example.name.replace(/\W+/g, '-')}.${extension}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'readme-'));
  // The examples import the project's packages, found from here as from a file in the repository.
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  for (const example of examples) {
    if (example.language === 'sh') writeFileSync(fileOf(example, 'sh'), toScript(example.code));
    else {
      writeFileSync(fileOf(example, 'mts'), example.code);
      writeFileSync(fileOf(example, 'mjs'), toModule(example.code));
    }
  }
  // Its own process group, so that the whole of it (npm, then node) stops at the end.
  server = spawn('npm', ['start'], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SIMULATOR_LATENCY: 'none' },
  });
  await started(server);
}, 300_000);

afterAll(async () => {
  const child = server;
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(command: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('README.md examples', () => {
  it('has a runnable example for each client front-end teams use', () => {
    expect(examples.map((e) => e.name)).toEqual(expect.arrayContaining(REQUIRED));
  });

  it('has curl and jq for its shell examples', () => {
    for (const tool of ['curl', 'jq']) {
      expect(spawnSync(tool, ['--version']).status, `${tool} is not on PATH: the README's examples use it`).toBe(0);
    }
  });

  it('has TypeScript examples that compile in a strict project, as printed', () => {
    const sources = examples.filter((e) => e.language === 'ts').map((e) => fileOf(e, 'mts'));
    expect(typeErrors(sources)).toEqual([]);
  }, 300_000); // The packages' declarations (LangChain's are large) load once: tens of seconds on a busy machine.

  it.each(examples.map((e) => [e.name, e] as const))('runs %s as printed', (name, example) => {
    const result =
      example.language === 'ts'
        ? run(process.execPath, [fileOf(example, 'mjs')])
        : run('bash', [fileOf(example, 'sh')]);
    const report = `README.md line ${example.line} (${name}) exited ${result.status}:\n${result.stdout}\n${result.stderr}`;
    expect(result.status, report).toBe(0);
    expect(result.stdout.trim().length, report).toBeGreaterThan(0);
  });
});
