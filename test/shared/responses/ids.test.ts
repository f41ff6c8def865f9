import { APIError } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { ownerOf, ResponseIds } from '../../../shared/responses/ids';
import { toRegional } from '../../../shared/responses/request';
import { openResponseStream } from '../../../shared/responses/stream';

const ids = new ResponseIds('a-secret-of-this-deployment-32-chars');
const alice = ownerOf({ kind: 'user', id: 'tenant:alice' });
const bob = ownerOf({ kind: 'user', id: 'tenant:bob' });

describe('response ids bound to their caller', () => {
  it("gives Azure's id with a tag and the region, and reads it back for the same caller", () => {
    const issued = ids.issue('resp_68af01', 'eastus2', alice);
    expect(issued).toMatch(/^resp_68af01~[A-Za-z0-9_-]{22}~eastus2$/);
    expect(ids.read(issued, alice)).toEqual({ id: 'resp_68af01', region: 'eastus2' });
    // The same id is given the same way every time (an SDK compares previous_response_id with the id it sent).
    expect(ids.issue('resp_68af01', 'eastus2', alice)).toBe(issued);
  });

  it('reads nothing from an id given to another caller, or with another secret', () => {
    const issued = ids.issue('resp_68af01', 'eastus2', alice);
    expect(ids.read(issued, bob)).toBeUndefined();
    expect(ids.read(issued, ownerOf({ kind: 'service', id: 'service' }))).toBeUndefined();
    expect(ids.read(issued, ownerOf(undefined))).toBeUndefined();
    expect(new ResponseIds('another-secret-of-another-instance!').read(issued, alice)).toBeUndefined();
  });

  it('tells a user and a daemon app with the same id apart', () => {
    const issued = ids.issue('resp_1', 'eastus2', ownerOf({ kind: 'user', id: 't:o' }));
    expect(ids.read(issued, ownerOf({ kind: 'app', id: 't:o' }))).toBeUndefined();
  });

  it.each([
    ['another region', (id: string) => id.replace('~eastus2', '~swedencentral')],
    ['another Azure id', (id: string) => id.replace('resp_68af01', 'resp_68af02')],
    ['a changed tag', (id: string) => id.replace(/~(.)/, (_m, c: string) => `~${c === 'A' ? 'B' : 'A'}`)],
    ['a shorter tag', (id: string) => id.replace(/~[^~]{2}/, '~')],
    ['no tag (the old form)', () => 'resp_68af01~eastus2'],
    ['no region', () => 'resp_68af01'],
    ['a fourth part', (id: string) => `${id}~x`],
    ['an empty id', (id: string) => id.replace('resp_68af01', '')],
  ])('reads nothing from an id with %s', (_what, tamper) => {
    expect(ids.read(tamper(ids.issue('resp_68af01', 'eastus2', alice)), alice)).toBeUndefined();
  });

  it('signs the ids the API issued in a response: its id, previous_response_id and the output item ids', () => {
    const tagged = ids.issuer('eastus2', alice).response({
      id: 'resp_1',
      object: 'response',
      previous_response_id: 'resp_0',
      metadata: { id: 'mine' },
      output: [{ id: 'msg_1', call_id: 'call_1', content: [{ type: 'output_text', text: 'id' }] }],
    });
    expect(tagged).toEqual({
      id: ids.issue('resp_1', 'eastus2', alice),
      object: 'response',
      previous_response_id: ids.issue('resp_0', 'eastus2', alice),
      metadata: { id: 'mine' },
      output: [
        { id: ids.issue('msg_1', 'eastus2', alice), call_id: 'call_1', content: [{ type: 'output_text', text: 'id' }] },
      ],
    });
  });

  // What the caller sent and the API echoes back is the caller's text, not an id the API issued: signing a
  // string under `id` there would sign another user's raw id for whoever put it there.
  const victim = 'resp_victim0001';
  const echoed = {
    text: { format: { type: 'json_schema', name: 'x', schema: { id: victim, properties: { id: { const: victim } } } } },
    tools: [{ type: 'function', name: 'f', parameters: { id: victim, item_id: victim, response_id: victim } }],
    instructions: null,
    reasoning: { id: victim },
    previous_response_id: null,
  };

  it('leaves every other string under id, item_id or response_id in a response untouched', () => {
    const tagged = ids.issuer('eastus2', alice).response({ id: 'resp_1', output: [], ...echoed });
    expect(tagged).toEqual({ id: ids.issue('resp_1', 'eastus2', alice), output: [], ...echoed });
    expect(JSON.stringify(tagged)).not.toContain(`${victim}~`);
  });

  it.each([
    ['response.created', { response: { id: 'resp_1', output: [], ...echoed } }],
    ['response.completed', { response: { id: 'resp_1', output: [{ id: 'msg_1', type: 'message' }], ...echoed } }],
    ['response.output_item.added', { output_index: 0, item: { id: 'msg_1', type: 'message', content: [] } }],
    ['response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi' }],
  ])('signs the ids in a %s event and nothing the caller sent', (type, fields) => {
    const event = { type, sequence_number: 1, ...fields };
    const tagged = ids.issuer('eastus2', alice).event(event);
    const text = JSON.stringify(tagged);
    expect(text).not.toContain(`${victim}~`);
    for (const raw of ['resp_1', 'msg_1'].filter((id) => JSON.stringify(event).includes(`"${id}"`))) {
      expect(text).toContain(`"${ids.issue(raw, 'eastus2', alice)}"`);
      expect(text).not.toContain(`"${raw}"`);
    }
  });
});

describe('a request as its region gets it', () => {
  const notFound = () => new Error('not found');
  const read = (id: string) => ids.read(id, alice);

  it('untags previous_response_id and item references, names their region home, and drops message ids', () => {
    const regional = toRegional(
      {
        previous_response_id: ids.issue('resp_1', 'swedencentral', alice),
        input: [
          { type: 'item_reference', id: ids.issue('msg_1', 'swedencentral', alice) },
          { type: 'message', role: 'assistant', id: ids.issue('msg_2', 'eastus2', alice), content: 'Hi' } as never,
          { role: 'user', content: 'More' },
        ],
        instructions: 'Be brief',
      },
      read,
      notFound,
    );
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

  it('untags the id of any other item given to the caller (a function call echoed back) and names its region home', () => {
    const call = {
      type: 'function_call',
      id: ids.issue('fc_1', 'swedencentral', alice),
      call_id: 'c',
      name: 'f',
      arguments: '{}',
    };
    const regional = toRegional({ input: [call as never] }, read, notFound);
    expect(regional.params.input).toEqual([{ ...call, id: 'fc_1' }]);
    expect(regional.home).toBe('swedencentral');
  });

  it('has no home when it refers to nothing stored', () => {
    expect(toRegional({ input: 'Hi' }, read, notFound).home).toBeUndefined();
  });

  it.each([
    ['previous_response_id of another caller', { previous_response_id: ids.issue('resp_1', 'eastus2', bob) }],
    ['previous_response_id from elsewhere (no tag)', { previous_response_id: 'resp_from_openai' }],
    [
      'an item_reference of another caller',
      { input: [{ type: 'item_reference', id: ids.issue('msg_1', 'eastus2', bob) }] },
    ],
    [
      'a reasoning item of another caller',
      { input: [{ type: 'reasoning', id: ids.issue('rs_1', 'eastus2', bob), summary: [] }] },
    ],
    [
      'a function call with an untagged id',
      { input: [{ type: 'function_call', id: 'fc_1', call_id: 'c', name: 'f', arguments: '{}' }] },
    ],
  ] as const)('is refused when it names %s', (_what, params) => {
    expect(() => toRegional({ input: 'Hi', ...params } as never, read, notFound)).toThrow('not found');
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
