import { APIError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { parseRegionalId, regionalId, withRegionalIds } from '../../../shared/responses/ids';
import { toRegional } from '../../../shared/responses/request';
import { openResponseStream } from '../../../shared/responses/stream';

describe('regional ids', () => {
  it.each([
    ['resp_68af01', 'eastus2', 'resp_68af01~eastus2'],
    ['msg_1', 'swedencentral', 'msg_1~swedencentral'],
    ['resp_68af01~eastus2', 'swedencentral', 'resp_68af01~eastus2'],
  ])('tags %s from %s as %s (an id tagged already keeps its region)', (id, region, tagged) => {
    expect(regionalId(id, region)).toBe(tagged);
  });

  it.each([
    ['resp_68af01~eastus2', { id: 'resp_68af01', region: 'eastus2' }],
    ['resp_68af01', { id: 'resp_68af01' }],
    ['a~b~westus', { id: 'a~b', region: 'westus' }],
  ])('reads %s back', (id, parsed) => {
    expect(parseRegionalId(id)).toEqual(parsed);
  });

  it('tags the ids of stored objects in answers and events, not call ids or client metadata', () => {
    const tagged = withRegionalIds(
      {
        id: 'resp_1',
        previous_response_id: null,
        metadata: { id: 'mine' },
        output: [{ id: 'msg_1', call_id: 'call_1', content: [{ type: 'output_text', text: 'id' }] }],
        item_id: 'msg_1',
      },
      'eastus2',
    );
    expect(tagged).toEqual({
      id: 'resp_1~eastus2',
      previous_response_id: null,
      metadata: { id: 'mine' },
      output: [{ id: 'msg_1~eastus2', call_id: 'call_1', content: [{ type: 'output_text', text: 'id' }] }],
      item_id: 'msg_1~eastus2',
    });
  });
});

describe('a request as its region gets it', () => {
  it('untags previous_response_id and item references, names their region home, and drops message ids', () => {
    const regional = toRegional({
      previous_response_id: 'resp_1~swedencentral',
      input: [
        { type: 'item_reference', id: 'msg_1~swedencentral' },
        { type: 'message', role: 'assistant', id: 'msg_2~eastus2', content: 'Hi' } as never,
        { role: 'user', content: 'More' },
      ],
      instructions: 'Be brief',
    });
    expect(regional.home).toBe('swedencentral');
    expect(regional.params.previous_response_id).toBe('resp_1');
    expect(regional.params.input).toEqual([
      { type: 'item_reference', id: 'msg_1' },
      { type: 'message', role: 'assistant', content: 'Hi' },
      { role: 'user', content: 'More' },
    ]);
    expect(regional.messages).toEqual([
      { role: 'system', content: 'Be brief' },
      { role: 'assistant', content: 'Hi' },
      { role: 'user', content: 'More' },
    ]);
  });

  it('has no home when it refers to nothing stored, or to ids from elsewhere', () => {
    expect(toRegional({ input: 'Hi', previous_response_id: 'resp_from_openai' }).home).toBeUndefined();
  });
});

describe('opening a response stream', () => {
  const events = (...list: object[]): AsyncIterator<ResponseStreamEvent> =>
    (list as ResponseStreamEvent[])[Symbol.iterator]() as unknown as AsyncIterator<ResponseStreamEvent>;
  const created = { type: 'response.created', sequence_number: 0, response: { id: 'resp_1' } };

  it('holds the lifecycle events until the first with output', async () => {
    const delta = { type: 'response.output_text.delta', sequence_number: 1, delta: 'Hi' };
    const opened = await openResponseStream(events(created, delta));
    expect(opened.head).toEqual([created, delta]);
  });

  it('fails the attempt (a 500: another region may serve) when the stream fails before any output', async () => {
    const failed = {
      type: 'response.failed',
      sequence_number: 1,
      response: {
        id: 'resp_1',
        error: { code: 'server_error', message: 'The model was unable to complete inference.' },
      },
    };
    const error = await openResponseStream(events(created, failed)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(500);
    expect((error as APIError).message).toContain('unable to complete inference');
  });
});
