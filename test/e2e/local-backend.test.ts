/** The backend on the local host, with the official `openai` client and plain fetch as its clients. */
import { BadRequestError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY as KEY, startBackend, type Backend } from './backend';

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

const question = [{ role: 'user' as const, content: 'What is the capital of France?' }];

describe('the backend on the local host', () => {
  it('registers every function file with its route', () => {
    expect(backend.host.functions.map((f) => `${f.methods.join(',')} ${f.route} ${f.authLevel}`).sort()).toEqual(
      [
        'GET /api/health anonymous',
        'GET /api/health/deep function',
        'GET /api/openapi.json anonymous',
        'GET /api/v1/models function',
        'POST /api/chat function',
        'POST /api/chat/stream function',
        'POST /api/v1/chat/completions function',
        'POST /api/v1/responses function',
        'GET /api/conversations function',
        'DELETE /api/conversations function',
        'GET /api/conversations/{id} function',
        'PATCH /api/conversations/{id} function',
        'DELETE /api/conversations/{id} function',
        'GET,HEAD /api/web/{*path} anonymous',
        'GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS /api/{*path} anonymous',
      ].sort(),
    );
  });

  it('streams a chat answer chunk by chunk as JSON lines', async () => {
    const response = await fetch(`${backend.host.url}/api/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': KEY },
      body: JSON.stringify({ messages: question }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-chat-region')).toBe('eastus2');
    const lines = (await response.text()).trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ context: { region: 'eastus2', finishReason: 'stop' } });
  });

  it('needs the function key on chat endpoints but not on health', async () => {
    const denied = await fetch(`${backend.host.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(denied.status).toBe(401);
    const health = await fetch(`${backend.host.url}/api/health`);
    expect(health.status).toBe(200);
    expect(JSON.stringify(await health.json())).not.toContain('simulator-key');
  });

  it('gives the openai client BadRequestError on an invalid request', async () => {
    await expect(backend.openai.chat.completions.create({ model: 'gpt-4o', messages: [] })).rejects.toBeInstanceOf(
      BadRequestError,
    );
  });

  it('serves the official openai client, non-streamed', async () => {
    const completion = await backend.openai.chat.completions.create({ model: 'gpt-4o', messages: question });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('serves the official openai client, streamed, with usage when asked', async () => {
    const stream = await backend.openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(10);
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('lists the logical models', async () => {
    const models = await backend.openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o', 'gpt-4o-mini']);
  });
});
