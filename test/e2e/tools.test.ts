/**
 * Tool calls end to end, as front-ends build them: each client runs a two-step tool conversation (the
 * model calls `get_time`, the client runs it, the model answers with its result) against the whole local
 * backend as a signed-in user, streamed and whole. The simulator's rule makes the call (the user message
 * names the tool) and quotes the result in the answer (simulator/README.md, "Tool calls").
 */
import { createOpenAI } from '@ai-sdk/openai';
import { HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningIdentityProvider } from '../../local/identity';
import { startSignedInBackend, type Backend, type SignedInBackend } from './backend';

let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  // Every test is one user's several calls; the per-minute limit is not what is tested here.
  signedIn = await startSignedInBackend({ CHAT_USER_REQUESTS_PER_MINUTE: '1000' });
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

const QUESTION = 'What time is it in Paris? Use get_time.';
const TIME = '14:05 CET';
/** What the answer after the tool result starts with: the simulator quotes the result. */
const USES_RESULT = /^The get_time tool returned 14:05 CET\. /;
const timeSchema: Record<string, unknown> = {
  type: 'object',
  properties: { timezone: { type: 'string', description: 'An IANA time zone, e.g. Europe/Paris' } },
  required: ['timezone'],
  additionalProperties: false,
};

const baseURL = () => `${backend.host.url}/api/v1`;
const token = () => identity.token('tool-user');

describe('the openai SDK with tools', () => {
  const openai = async () => new OpenAI({ baseURL: `${baseURL()}/`, apiKey: await token(), maxRetries: 0 });
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_time', description: 'The time now', parameters: timeSchema } },
  ];

  it.each([false, true])('chat.completions: call, result, answer (stream: %s)', async (stream) => {
    const client = await openai();
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: QUESTION }];
    const call = stream
      ? await client.chat.completions.stream({ model: 'gpt-4o', messages, tools }).finalMessage()
      : (await client.chat.completions.create({ model: 'gpt-4o', messages, tools })).choices[0]?.message;
    const toolCall = call?.tool_calls?.[0];
    expect(toolCall).toMatchObject({ type: 'function', function: { name: 'get_time' } });
    if (toolCall?.type !== 'function') throw new Error('no function call');
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ timezone: 'x' });
    messages.push(
      { role: 'assistant', content: null, tool_calls: [toolCall] },
      { role: 'tool', tool_call_id: toolCall.id, content: TIME },
    );
    const answer = stream
      ? await client.chat.completions.stream({ model: 'gpt-4o', messages, tools }).finalContent()
      : (await client.chat.completions.create({ model: 'gpt-4o', messages, tools })).choices[0]?.message.content;
    expect(answer).toMatch(USES_RESULT);
  });

  it.each([false, true])('chat.completions.runTools runs the tool and answers (stream: %s)', async (stream) => {
    const client = await openai();
    const runnable = [
      {
        type: 'function' as const,
        function: {
          name: 'get_time',
          description: 'The time now',
          parameters: timeSchema,
          function: (args: string) => ((JSON.parse(args) as { timezone?: unknown }).timezone === 'x' ? TIME : 'bad'),
        },
      },
    ];
    const messages = [{ role: 'user' as const, content: QUESTION }];
    const runner = stream
      ? client.chat.completions.runTools({ model: 'gpt-4o', messages, tools: runnable, stream: true })
      : client.chat.completions.runTools({ model: 'gpt-4o', messages, tools: runnable });
    expect(await runner.finalContent()).toMatch(USES_RESULT);
    expect(runner.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it.each([false, true])(
    'responses.create: function_call, function_call_output, answer (stream: %s)',
    async (stream) => {
      const client = await openai();
      const tools: OpenAI.Responses.FunctionTool[] = [
        { type: 'function', name: 'get_time', description: 'The time now', parameters: timeSchema, strict: true },
      ];
      const first = stream
        ? await client.responses.stream({ model: 'gpt-4o', input: QUESTION, tools }).finalResponse()
        : await client.responses.create({ model: 'gpt-4o', input: QUESTION, tools });
      const call = first.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({ name: 'get_time', arguments: '{"timezone":"x"}' });
      if (call?.type !== 'function_call') throw new Error('no function call');
      // The SDK's stream helper adds parsed_arguments, which is not part of the API's input.
      const { parsed_arguments: _parsed, ...sentBack } = call as typeof call & { parsed_arguments?: unknown };
      const output: ResponseInputItem = { type: 'function_call_output', call_id: call.call_id, output: TIME };
      const followUp = { model: 'gpt-4o', previous_response_id: first.id, input: [output], tools };
      const answer = stream
        ? await client.responses.stream(followUp).finalResponse()
        : await client.responses.create(followUp);
      expect(answer.output_text).toMatch(USES_RESULT);
      // The whole conversation sent again (the call echoed back with its id) answers the same.
      const resent = await client.responses.create({
        model: 'gpt-4o',
        input: [{ role: 'user', content: QUESTION }, sentBack, output],
        tools,
      });
      expect(resent.output_text).toBe(answer.output_text);
    },
  );
});

describe('the Vercel AI SDK with tools over several steps', () => {
  const provider = async () => createOpenAI({ baseURL: baseURL(), apiKey: await token() });
  const tools = {
    get_time: tool({
      description: 'The time now',
      inputSchema: z.object({ timezone: z.string().describe('An IANA time zone') }),
      execute: ({ timezone }) => Promise.resolve(timezone === 'x' ? TIME : 'bad'),
    }),
  };

  it.each([
    { api: 'the default provider (Responses API)', chat: false, stream: false },
    { api: 'the default provider (Responses API)', chat: false, stream: true },
    { api: '.chat (Chat Completions)', chat: true, stream: false },
    { api: '.chat (Chat Completions)', chat: true, stream: true },
  ])('$api, streamText: $stream', async ({ chat, stream }) => {
    const openai = await provider();
    const model = chat ? openai.chat('gpt-4o') : openai('gpt-4o');
    const options = { model, prompt: QUESTION, tools, stopWhen: stepCountIs(3), maxRetries: 0 };
    const result = stream ? streamText(options) : await generateText(options);
    const steps = await result.steps;
    expect(steps.map((s) => s.finishReason)).toEqual(['tool-calls', 'stop']);
    expect(steps[0]?.toolCalls[0]).toMatchObject({ toolName: 'get_time', input: { timezone: 'x' } });
    expect(steps[0]?.toolResults[0]).toMatchObject({ output: TIME });
    expect(await result.text).toMatch(USES_RESULT);
  });
});

describe('LangChain bindTools', () => {
  const getTime = langchainTool(({ timezone }: { timezone: string }) => (timezone === 'x' ? TIME : 'bad'), {
    name: 'get_time',
    description: 'The time now',
    schema: z.object({ timezone: z.string().describe('An IANA time zone') }),
  });

  it.each([
    { api: 'Chat Completions', useResponsesApi: false, stream: false },
    { api: 'Chat Completions', useResponsesApi: false, stream: true },
    { api: 'the Responses API', useResponsesApi: true, stream: false },
    { api: 'the Responses API', useResponsesApi: true, stream: true },
  ])('$api: call, result, answer (stream: $stream)', async ({ useResponsesApi, stream }) => {
    const model = new ChatOpenAI({
      model: 'gpt-4o',
      apiKey: await token(),
      maxRetries: 0,
      useResponsesApi,
      configuration: { baseURL: baseURL() },
    }).bindTools([getTime]);
    const ask = async (messages: BaseMessage[]) => {
      if (!stream) return model.invoke(messages);
      let whole;
      for await (const chunk of await model.stream(messages)) whole = whole === undefined ? chunk : whole.concat(chunk);
      if (whole === undefined) throw new Error('empty stream');
      return whole;
    };
    const messages: BaseMessage[] = [new HumanMessage(QUESTION)];
    const first = await ask(messages);
    const call = first.tool_calls?.[0];
    expect(call).toMatchObject({ name: 'get_time', args: { timezone: 'x' } });
    messages.push(
      first,
      new ToolMessage({
        tool_call_id: call?.id ?? '',
        content: String(await getTime.invoke(call?.args as { timezone: string })),
      }),
    );
    const answer = await ask(messages);
    expect(answer.text).toMatch(USES_RESULT);
  });
});

describe('built-in tools', () => {
  it.each(['web_search', 'file_search', 'code_interpreter'])(
    'refuses %s with a 400 that names it, before any region is asked',
    async (type) => {
      const asked = backend.primary.stats().total + backend.secondary.stats().total;
      const response = await fetch(`${baseURL()}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
        body: JSON.stringify({ model: 'gpt-4o', input: 'Hi', tools: [{ type }] }),
      });
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain(`tool type "${type}" is not available through this backend`);
      expect(backend.primary.stats().total + backend.secondary.stats().total).toBe(asked);
    },
  );
});
