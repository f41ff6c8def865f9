/**
 * Issue 15: the frameworks' defaults, which call the Responses API, against the backend: the Vercel AI
 * SDK's `openai('gpt-4o')` (generateText, streamText, and a second turn built from the first one's
 * messages, which the SDK sends as an item_reference) and LangChain's ChatOpenAI with useResponsesApi.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

describe('the Vercel AI SDK with the default provider call openai(model)', () => {
  const openai = () =>
    createOpenAI({
      baseURL: `${backend.host.url}/api/v1`,
      apiKey: 'unused',
      headers: { 'x-functions-key': FUNCTION_KEY },
    });

  it('gets a whole answer with generateText', async () => {
    const result = await generateText({ model: openai()('gpt-4o'), prompt: 'Hello', maxRetries: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.response.id).toMatch(/~eastus2$/);
  });

  it('streams an answer with streamText', async () => {
    const result = streamText({ model: openai()('gpt-4o'), prompt: 'Hello', maxRetries: 0 });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(await result.text);
    expect(await result.finishReason).toBe('stop');
  });

  it('answers a second turn built from the first one’s messages (sent as an item_reference)', async () => {
    const bodies: string[] = [];
    const recording = createOpenAI({
      baseURL: `${backend.host.url}/api/v1`,
      apiKey: 'unused',
      headers: { 'x-functions-key': FUNCTION_KEY },
      fetch: (input, init) => {
        bodies.push(typeof init?.body === 'string' ? init.body : '');
        return fetch(input, init);
      },
    });
    const first = await generateText({ model: recording('gpt-4o'), prompt: 'Hello', maxRetries: 0 });
    const messages = [
      { role: 'user' as const, content: 'Hello' },
      ...first.response.messages,
      { role: 'user' as const, content: 'And then?' },
    ];
    const second = await generateText({ model: recording('gpt-4o'), messages, maxRetries: 0 });
    expect(bodies[1]).toContain('"item_reference"');
    const plain = await generateText({
      model: openai()('gpt-4o'),
      messages: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: first.text },
        { role: 'user', content: 'And then?' },
      ],
      maxRetries: 0,
    });
    expect(second.text).toBe(plain.text);
  });
});

describe('LangChain ChatOpenAI with useResponsesApi', () => {
  const model = () =>
    new ChatOpenAI({
      model: 'gpt-4o',
      apiKey: 'unused',
      maxRetries: 0,
      useResponsesApi: true,
      configuration: { baseURL: `${backend.host.url}/api/v1`, defaultHeaders: { 'x-functions-key': FUNCTION_KEY } },
    });

  it('gets a whole answer with invoke', async () => {
    const message = await model().invoke('Hello');
    expect(message.text.length).toBeGreaterThan(0);
    expect(message.response_metadata['id']).toMatch(/~eastus2$/);
  });

  it('streams an answer with stream', async () => {
    const chunks: string[] = [];
    for await (const chunk of await model().stream('Hello')) chunks.push(chunk.text);
    expect(chunks.join('').length).toBeGreaterThan(0);
    expect(chunks.filter((c) => c.length > 0).length).toBeGreaterThan(1);
  });

  it('carries a conversation: an earlier answer sent back as an assistant message', async () => {
    const first = await model().invoke([new HumanMessage('Hello')]);
    const second = await model().invoke([new HumanMessage('Hello'), first, new HumanMessage('And then?')]);
    const plain = await model().invoke([
      new HumanMessage('Hello'),
      new AIMessage(first.text),
      new HumanMessage('And then?'),
    ]);
    expect(second.text).toBe(plain.text);
  });
});
