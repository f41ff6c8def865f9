import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../simulator/cli-args';

describe('parseCliArgs', () => {
  it('defaults to port 7081 in eastus2 without latency', () => {
    expect(parseCliArgs([])).toEqual({
      kind: 'start',
      options: {
        port: 7081,
        host: '127.0.0.1',
        region: 'eastus2',
        latency: 'none',
        bearer: 'accept',
        localAuthDisabled: false,
      },
    });
  });

  it('reads every flag', () => {
    const parsed = parseCliArgs([
      '--port',
      '7082',
      '--region',
      'swedencentral',
      '--latency',
      'realistic',
      '--api-key',
      'K',
      '--bearer',
      'no-role',
      '--local-auth-disabled',
      '--rpm',
      '10',
      '--tpm',
      '1000',
      '--continuation-repeat-words',
      '3',
      '--answer-tokens',
      '64',
    ]);
    expect(parsed).toEqual({
      kind: 'start',
      options: {
        continuationRepeatWords: 3,
        answerTokens: 64,
        port: 7082,
        host: '127.0.0.1',
        region: 'swedencentral',
        latency: 'realistic',
        apiKey: 'K',
        bearer: 'no-role',
        localAuthDisabled: true,
        rpm: 10,
        tpm: 1000,
      },
    });
  });

  it.each([
    [['--latency', 'fast'], '--latency must be one of none, realistic'],
    [['--port', 'abc'], '--port must be a non-negative integer'],
    [['--rpm=-1'], '--rpm must be a non-negative integer'],
    [['--answer-tokens', '2.5'], '--answer-tokens must be a non-negative integer'],
    [['--bearer', 'maybe'], '--bearer must be accept or no-role'],
    [['--nope'], "Unknown option '--nope'"],
  ])('rejects %j saying what is wrong', (args, message) => {
    const parsed = parseCliArgs(args);
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' ? parsed.message : '').toContain(message);
  });

  it('asks for help with -h', () => {
    expect(parseCliArgs(['-h'])).toEqual({ kind: 'help' });
  });
});
