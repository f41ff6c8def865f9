import { describe, expect, it } from 'vitest';
import { examples, fences, toScript } from './examples';

const fence = (info: string, code: string) => ['```' + info, code, '```'].join('\n');

describe('README examples extraction', () => {
  it('takes the blocks tagged test, named by test=<name> or by language and line', () => {
    const markdown = [
      'Intro',
      fence('ts test=openai', "import OpenAI from 'openai';"),
      fence('sh test', 'curl http://localhost:7071/api/health'),
      fence('sh', 'npm start'),
    ].join('\n');
    expect(examples(markdown)).toEqual([
      { language: 'ts', name: 'openai', line: 2, code: "import OpenAI from 'openai';" },
      { language: 'sh', name: 'sh at line 5', line: 5, code: 'curl http://localhost:7071/api/health' },
    ]);
  });

  it.each([
    ['a curl line', fence('sh', 'curl http://localhost:7071/api/health')],
    ['an import', fence('ts', "import { ChatOpenAI } from '@langchain/openai';")],
  ])('refuses %s in a block that says neither test nor no-test, naming its line', (_what, block) => {
    expect(() => examples(`Text\n${block}`)).toThrow(/README\.md line 2: a runnable/);
    expect(examples(`Text\n${block.replace(/^```(\w+)/, '```$1 no-test')}`)).toEqual([]);
  });

  it('refuses a fence that never closes', () => {
    expect(() => fences('```sh\ncurl x')).toThrow(/line 1: a fence that never closes/);
  });

  it('runs shell examples so that an error status fails them', () => {
    expect(toScript('curl http://x')).toMatch(/^set -eo pipefail\ncurl\(\) \{ command curl --fail-with-body/);
  });
});
