/**
 * The frameworks front-end teams build on, pointed at the backend's Chat Completions endpoint as the README
 * shows: the Vercel AI SDK through `openai.chat(...)` and LangChain's ChatOpenAI without the Responses API.
 */
import { createOpenAI } from '@ai-sdk/openai';
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

describe('the Vercel AI SDK with openai.chat()', () => {
  const provider = () =>
    createOpenAI({
      baseURL: `${backend.host.url}/api/v1`,
      apiKey: 'unused',
      headers: { 'x-functions-key': FUNCTION_KEY },
    });

  it('gets a whole answer with generateText', async () => {
    const result = await generateText({ model: provider().chat('gpt-4o'), prompt: 'Hello', maxRetries: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBeGreaterThan(0);
  });

  it('streams an answer with streamText', async () => {
    const result = streamText({ model: provider().chat('gpt-4o'), prompt: 'Hello', maxRetries: 0 });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(await result.text);
  });
});

describe('LangChain ChatOpenAI without the Responses API', () => {
  const model = () =>
    new ChatOpenAI({
      model: 'gpt-4o',
      apiKey: 'unused',
      maxRetries: 0,
      configuration: { baseURL: `${backend.host.url}/api/v1`, defaultHeaders: { 'x-functions-key': FUNCTION_KEY } },
    });

  it('gets a whole answer with invoke', async () => {
    const message = await model().invoke('Hello');
    expect(message.text.length).toBeGreaterThan(0);
  });

  it('streams an answer with stream', async () => {
    const chunks: string[] = [];
    for await (const chunk of await model().stream('Hello')) chunks.push(chunk.text);
    expect(chunks.join('').length).toBeGreaterThan(0);
    expect(chunks.filter((c) => c.length > 0).length).toBeGreaterThan(1);
  });
});
