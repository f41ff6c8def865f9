/**
 * A region that fails while it streams a tool call: before the first byte the call comes whole from the next
 * region; after it, a call cut inside its arguments is never handed on as a call: the stream ends with an
 * error the SDKs raise (README "Tool calls"). Its own backend: faults and open breakers stay in this file.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningIdentityProvider } from '../../local/identity';
import type { Fault } from '../../simulator';
import { startSignedInBackend, type Backend, type SignedInBackend } from './backend';

let identity: RunningIdentityProvider;
let backend: Backend;
let signedIn: SignedInBackend | undefined;
beforeAll(async () => {
  // The primary stays first in line whatever broke before (tests run shuffled in CI).
  signedIn = await startSignedInBackend({ CHAT_USER_REQUESTS_PER_MINUTE: '1000', CHAT_BREAKER_FAILURES: '100' });
  ({ identity, backend } = signedIn);
});
afterAll(() => signedIn?.close());

const QUESTION = 'What time is it in Paris? Use get_time.';
const timeSchema: Record<string, unknown> = {
  type: 'object',
  properties: { timezone: { type: 'string' } },
  required: ['timezone'],
  additionalProperties: false,
};
const baseURL = () => `${backend.host.url}/api/v1`;
const token = () => identity.token('tool-user');

describe('a region that breaks during a tool call', () => {
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_time', description: 'The time now', parameters: timeSchema } },
  ];
  /** Runs with `fault` on the primary region; the secondary serves normally (a text answer would be continued there). */
  const withFault = async (fault: Fault, run: () => Promise<void>) => {
    backend.primary.setFault(fault);
    try {
      await run();
    } finally {
      backend.primary.setFault({ kind: 'none' });
    }
  };
  const openai = async () => new OpenAI({ baseURL: `${baseURL()}/`, apiKey: await token(), maxRetries: 0 });

  it('fails over before the first byte: the call comes whole from the next region', async () => {
    await withFault({ kind: 'outage' }, async () => {
      const client = await openai();
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: QUESTION }], tools, stream: true })
        .withResponse();
      let args = '';
      for await (const chunk of data) args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
      expect(response.headers.get('x-chat-region')).toBe('swedencentral');
      expect(args).toBe('{"timezone":"x"}');
    });
  });

  it('never hands on a call cut inside its arguments: chat streams end with an error the SDKs raise', async () => {
    await withFault({ kind: 'reset-midstream', afterChunks: 2 }, async () => {
      const client = await openai();
      const stream = client.chat.completions.stream({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: QUESTION }],
        tools,
      });
      const error = await stream.finalMessage().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'stream_interrupted' });

      let executed = 0;
      const errors: unknown[] = [];
      const result = streamText({
        model: createOpenAI({ baseURL: baseURL(), apiKey: await token() }).chat('gpt-4o'),
        prompt: QUESTION,
        tools: {
          get_time: tool({
            inputSchema: z.object({ timezone: z.string() }),
            execute: () => Promise.resolve(String(++executed)),
          }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
        onError: ({ error: e }) => void errors.push(e),
      });
      await result.consumeStream();
      expect(errors.length).toBeGreaterThan(0);
      expect(executed).toBe(0);
    });
  });

  it('never hands on a call cut inside its arguments: Responses streams end with response.failed and error', async () => {
    await withFault({ kind: 'reset-midstream', afterChunks: 2 }, async () => {
      const client = await openai();
      const tools: OpenAI.Responses.FunctionTool[] = [
        { type: 'function', name: 'get_time', parameters: timeSchema, strict: true },
      ];
      const types: string[] = [];
      const error = await (async () => {
        for await (const event of client.responses.stream({ model: 'gpt-4o', input: QUESTION, tools })) {
          types.push(event.type);
        }
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(types).toContain('response.function_call_arguments.delta');
      expect(types).not.toContain('response.function_call_arguments.done');
      expect(types).not.toContain('response.output_item.done');
    });
  });
});
