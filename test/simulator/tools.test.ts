/**
 * The simulator's tool calls against the official openai client, on Chat Completions and the Responses API,
 * whole and streamed: when it calls (the rule in simulator/README.md), arguments valid against the tool's
 * schema, the wire shapes, and the answer after a tool result that uses it.
 */
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { FunctionTool, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { minimalValue, planToolCalls, type ToolOptions } from '../../simulator/tools';
import { client, post, sseData, useSimulator } from './fixture';

const start = useSimulator();

const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string', minLength: 2 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    note: { type: 'string' },
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false,
};

const chatTools: ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'get_weather', parameters: weatherSchema } },
];
const responseTools: FunctionTool[] = [
  { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false },
  { type: 'function', name: 'get_weather', parameters: weatherSchema, strict: false },
];

describe('minimalValue', () => {
  it.each([
    ['an object with its required properties', weatherSchema],
    [
      'nested objects and arrays',
      {
        type: 'object',
        properties: { a: { type: 'array', items: { type: 'number', exclusiveMinimum: 3 }, minItems: 2 } },
        required: ['a'],
      },
    ],
    ['a const', { type: 'object', properties: { k: { const: 'fixed' } }, required: ['k'] }],
    [
      'a nullable union',
      { type: 'object', properties: { u: { anyOf: [{ type: 'null' }, { type: 'boolean' }] } }, required: ['u'] },
    ],
    [
      'a type list',
      { type: 'object', properties: { t: { type: ['null', 'integer'], multipleOf: 5, minimum: 3 } }, required: ['t'] },
    ],
    [
      'a local $ref',
      {
        type: 'object',
        properties: { p: { $ref: '#/$defs/P' } },
        required: ['p'],
        $defs: { P: { type: 'string', format: 'date' } },
      },
    ],
    [
      'allOf',
      {
        allOf: [
          { type: 'object', properties: { x: { type: 'string' } }, required: ['x'] },
          { properties: { y: { type: 'boolean' } }, required: ['y'] },
        ],
      },
    ],
  ])('gives a value the schema accepts: %s', (_, schema) => {
    const value = minimalValue(schema, schema);
    expect(z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(value).success).toBe(true);
  });

  it('takes the first enum value and the lowest number allowed', () => {
    expect(minimalValue(weatherSchema, weatherSchema)).toEqual({ city: 'xx', unit: 'celsius', days: 1 });
  });
});

describe('the tool-call rule', () => {
  const tools = [
    { name: 'get_time', parameters: undefined },
    { name: 'get_weather', parameters: weatherSchema },
  ];
  const user = (content: string) => ({ role: 'user', content });
  const afterResult = [
    user('use get_time'),
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 'c1', content: '12:00' },
  ];
  const names = (options: Partial<ToolOptions>, messages: readonly Record<string, unknown>[]) =>
    planToolCalls({ tools, choice: { kind: 'auto' }, parallel: true, ...options }, messages).map((c) => c.name);

  it.each([
    ['auto, the user names a tool', {}, [user('What does get_weather say?')], ['get_weather']],
    ['auto, the user names both', {}, [user('get_time and get_weather please')], ['get_time', 'get_weather']],
    ['auto, no tool named', {}, [user('Hello')], []],
    ['auto, a longer word is not the name', {}, [user('get_times')], []],
    ['auto, after a tool result', {}, afterResult, []],
    ['none, the user names a tool', { choice: { kind: 'none' as const } }, [user('get_time')], []],
    ['required, no tool named: the first', { choice: { kind: 'required' as const } }, [user('Hello')], ['get_time']],
    ['required, after a tool result', { choice: { kind: 'required' as const } }, afterResult, ['get_time']],
    [
      'a named function',
      { choice: { kind: 'function' as const, name: 'get_weather' } },
      [user('Hello')],
      ['get_weather'],
    ],
    ['parallel_tool_calls false', { parallel: false }, [user('get_time and get_weather')], ['get_time']],
  ])('%s', (_, options, messages, expected) => {
    expect(names(options, messages)).toEqual(expected);
  });
});

describe('simulator tool calls on Chat Completions', () => {
  it('answers a call with tool_calls, finish_reason tool_calls and schema-valid arguments', async () => {
    const sim = await start();
    const completion = await client(sim).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Weather? Use get_weather.' }],
      tools: chatTools,
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    const call = choice?.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(call?.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    const args: unknown = JSON.parse(call?.type === 'function' ? call.function.arguments : 'null');
    expect(z.fromJSONSchema(weatherSchema as never).safeParse(args).success).toBe(true);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('streams tool_call deltas: id, type and name first with empty arguments, then fragments', async () => {
    const sim = await start();
    const { body, text } = await post(sim, '/openai/v1/chat/completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'get_time and get_weather' }],
      tools: chatTools,
      tool_choice: 'auto',
      stream: true,
    });
    expect(body).toBeUndefined();
    const chunks = sseData(text)
      .filter((d) => d !== '[DONE]')
      .map((d) => JSON.parse(d) as { choices: { delta: { tool_calls?: unknown[] }; finish_reason: string | null }[] });
    const deltas = chunks.flatMap((c) => c.choices.flatMap((choice) => choice.delta.tool_calls ?? []));
    expect(deltas[0]).toEqual({
      function: { arguments: '', name: 'get_time' },
      id: expect.stringMatching(/^call_/) as unknown,
      index: 0,
      type: 'function',
    });
    const second = deltas.findIndex((d) => (d as { index: number }).index === 1);
    expect(deltas[second]).toMatchObject({
      index: 1,
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    const fragments = deltas.slice(second + 1) as { function: { arguments: string } }[];
    expect(fragments.length).toBeGreaterThan(1);
    expect(JSON.parse(fragments.map((f) => f.function.arguments).join(''))).toEqual({
      city: 'xx',
      unit: 'celsius',
      days: 1,
    });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('runs a two-step conversation with the SDK’s runTools: call, result, an answer that uses it', async () => {
    const sim = await start();
    const runner = client(sim).chat.completions.runTools({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'What time is it? Ask get_time.' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_time',
            description: 'The time now',
            parameters: { type: 'object', properties: {} },
            function: () => '09:30 UTC',
          },
        },
      ],
      stream: true,
    });
    const answer = await runner.finalContent();
    expect(answer).toMatch(/^The get_time tool returned 09:30 UTC\. /);
    expect(runner.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it('calls a named function even when the user names none, and never with tool_choice none', async () => {
    const sim = await start();
    const ask = (tool_choice: 'none' | { type: 'function'; function: { name: string } }) =>
      client(sim).chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'get_time' }],
        tools: chatTools,
        tool_choice,
      });
    expect(
      (await ask({ type: 'function', function: { name: 'get_weather' } })).choices[0]?.message.tool_calls?.[0],
    ).toMatchObject({
      function: { name: 'get_weather' },
    });
    expect((await ask('none')).choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses tool_choice naming a function not offered, with OpenAI’s 400', async () => {
    const sim = await start();
    const { status, body } = await post(sim, '/openai/v1/chat/completions', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hi' }],
      tools: chatTools,
      tool_choice: { type: 'function', function: { name: 'nope' } },
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { param: 'tool_choice' } });
  });

  it('answers after a tool result the same way every time (a region can be compared with another)', async () => {
    const sim = await start();
    const messages: ChatCompletionMessageParam[] = [
      { role: 'user', content: 'get_time' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"time":"10:00"}' },
    ];
    const ask = () => client(sim).chat.completions.create({ model: 'gpt-4o', messages, tools: chatTools });
    const [a, b] = await Promise.all([ask(), ask()]);
    expect(a.choices[0]?.message.content).toMatch(/^The get_time tool returned \{"time":"10:00"\}\. /);
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
  });
});

describe('simulator function calls on the Responses API', () => {
  it('answers with function_call output items, then uses the function_call_output (previous_response_id)', async () => {
    const sim = await start();
    const openai = client(sim);
    const first = await openai.responses.create({ model: 'gpt-4o', input: 'Use get_weather', tools: responseTools });
    expect(first.status).toBe('completed');
    const call = first.output[0];
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    if (call?.type !== 'function_call') throw new Error('no call');
    expect(call.id).toMatch(/^fc_[0-9a-f]{48}$/);
    expect(call.call_id).toMatch(/^call_/);
    expect(JSON.parse(call.arguments)).toEqual({ city: 'xx', unit: 'celsius', days: 1 });
    expect(first.tools).toHaveLength(2);
    const second = await openai.responses.create({
      model: 'gpt-4o',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 C' }],
      tools: responseTools,
    });
    expect(second.output_text).toMatch(/^The get_weather tool returned Sunny, 21 C\. /);
    const viaReference = await openai.responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'user', content: 'Use get_weather' },
        { type: 'item_reference', id: call.id ?? '' },
        { type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 C' },
      ],
      tools: responseTools,
    });
    expect(viaReference.output_text).toBe(second.output_text);
  });

  it('streams output_item.added, function_call_arguments.delta and .done, output_item.done, completed', async () => {
    const sim = await start();
    const stream = client(sim).responses.stream({ model: 'gpt-4o', input: 'get_weather', tools: responseTools });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1]);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const added = events.find((e) => e.type === 'response.output_item.added');
    expect(added).toMatchObject({
      item: { type: 'function_call', arguments: '', status: 'in_progress', name: 'get_weather' },
    });
    const deltas = events.flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : []));
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(done).toMatchObject({ arguments: deltas.join('') });
    const final = await stream.finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'function_call', arguments: deltas.join('') });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  });
});
