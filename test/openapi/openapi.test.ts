import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createChatPostHandler } from '../../functions/chat-post';
import { createChatStreamHandler } from '../../functions/chat-stream-post';
import { createHealthDeepHandler } from '../../functions/health-deep-get';
import { createHealthHandler } from '../../functions/health-get';
import { createOpenAIChatHandler } from '../../functions/openai-chat-completions-post';
import { createOpenAIModelsHandler } from '../../functions/openai-models-get';
import { createOpenAPIHandler } from '../../functions/openapi-get';
import { createOpenAIResponsesHandler } from '../../functions/openai-responses-post';
import type { ChatService } from '../../shared/chat-service';
import { createCredentials } from '../../shared/credentials';
import {
  chatProtocolResponse,
  chatStreamLine,
  deepHealthSchema,
  errorBodySchema,
  healthSchema,
  modelList,
  openAIChatCompletion,
  openAIChatCompletionChunk,
  openAIResponse,
  openAIResponseStreamEvent,
  openAPIDocument,
} from '../../shared/http/openapi';
import {
  chatProtocolRequest,
  conversationPatch,
  openAIChatRequest,
  openAIResponsesRequest,
} from '../../shared/http/schemas';
import { bodyText, getRequest, invocation, jsonRequest } from '../functions/http';
import { startTwoRegions, type TwoRegions } from '../shared/two-regions';

const repoRoot = join(__dirname, '..', '..');

let regions: TwoRegions;
let chat: ChatService;
beforeAll(async () => {
  regions = await startTwoRegions();
  chat = regions.service();
});
afterAll(async () => {
  await regions.close();
});

/** Routes and methods as the function files register them. */
function registeredRoutes(): { route: string; methods: string[]; authLevel: string }[] {
  return readdirSync(join(repoRoot, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(repoRoot, 'functions', f), 'utf8'))
    .flatMap((source) => {
      const route = /route:\s*'([^']+)'/.exec(source)?.[1];
      const methods = /methods:\s*\[([^\]]+)\]/.exec(source)?.[1];
      const authLevel = /authLevel:\s*'([^']+)'/.exec(source)?.[1] ?? 'dynamic';
      // Catch-all routes serve static files (the demo page), not the API.
      if (route === undefined || methods === undefined || route.includes('{*')) return [];
      return [{ route, methods: methods.match(/[A-Z]+/g) ?? [], authLevel }];
    });
}

interface HttpFileRequest {
  readonly method: string;
  readonly url: string;
  readonly body?: unknown;
}

/** The requests of requests.http: `METHOD url`, headers, a blank line, an optional JSON body. */
function httpFileRequests(): HttpFileRequest[] {
  const text = readFileSync(join(repoRoot, 'requests.http'), 'utf8');
  return text
    .split(/^###.*$/m)
    .slice(1)
    .map((block) => {
      const lines = block.split('\n').filter((l) => !l.startsWith('#'));
      const start = lines.findIndex((l) => /^(GET|POST|PATCH|DELETE) /.test(l));
      const [method = '', url = ''] = (lines[start] ?? '').split(' ');
      const blank = lines.findIndex((l, i) => i > start && l.trim() === '');
      const body = lines
        .slice(blank + 1)
        .join('\n')
        .trim();
      return { method, url, ...(body ? { body: JSON.parse(body) as unknown } : {}) };
    });
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const document = structuredClone(openAPIDocument());
    // The document's own type is narrower than the parser's; the parser checks the shape anyway.
    const result = await validate(document as unknown as Parameters<typeof validate>[0]);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.specification).toBe('OpenAPI');
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it('is served at GET /api/openapi.json without a key', async () => {
    const response = await createOpenAPIHandler()();
    expect(response.status).toBe(200);
    expect(response.jsonBody).toEqual(openAPIDocument());
    expect(registeredRoutes()).toContainEqual({ route: 'openapi.json', methods: ['GET'], authLevel: 'anonymous' });
  });

  it('describes every registered route and method, and asks for a key exactly where the function does', () => {
    const paths = openAPIDocument().paths as Record<string, Record<string, { security?: unknown[] }>>;
    const routes = registeredRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(7);
    for (const { route, methods, authLevel } of routes) {
      for (const method of methods) {
        const operation = paths[`/${route}`]?.[method.toLowerCase()];
        expect(operation, `${method} /${route}`).toBeDefined();
        // An empty security list means anonymous; none means the document's default (the function key).
        if (authLevel === 'anonymous') expect(operation?.security, `${method} /${route}`).toEqual([]);
        else expect(operation?.security, `${method} /${route}`).not.toEqual([]);
      }
    }
    expect(Object.keys(paths).length).toBe(new Set(routes.map((r) => r.route)).size);
  });

  it('takes its request bodies from the schemas that validate requests', () => {
    const schemas = openAPIDocument().components.schemas as Record<string, { properties?: Record<string, unknown> }>;
    expect(Object.keys(schemas.ChatRequest?.properties ?? {})).toEqual(Object.keys(chatProtocolRequest.shape));
    expect(Object.keys(schemas.OpenAIChatRequest?.properties ?? {})).toEqual(Object.keys(openAIChatRequest.shape));
    expect(Object.keys(schemas.OpenAIResponsesRequest?.properties ?? {})).toEqual(
      Object.keys(openAIResponsesRequest.shape),
    );
  });
});

describe('real answers match the documented response schemas', () => {
  const question = { messages: [{ role: 'user', content: 'Hello' }], sessionState: { id: 1 } };

  function parseLines(text: string): unknown[] {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  }

  function sseEvents(text: string): unknown[] {
    return text
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
      .map((l) => JSON.parse(l.slice('data: '.length)) as unknown);
  }

  const strictly = <S extends z.ZodType>(schema: S, value: unknown) =>
    expect(schema.safeParse(value).error).toBeUndefined();

  it('POST /api/chat answers a ChatResponse', async () => {
    const response = await createChatPostHandler({ chat })(jsonRequest('/api/chat', question), invocation());
    strictly(chatProtocolResponse, response.jsonBody);
  });

  it('POST /api/chat/stream answers ChatStreamLine lines', async () => {
    const response = await createChatStreamHandler({ chat })(jsonRequest('/api/chat/stream', question), invocation());
    const lines = parseLines(await bodyText(response));
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) strictly(chatStreamLine, line);
  });

  it('POST /api/v1/chat/completions answers an OpenAIChatCompletion, or chunks when streamed', async () => {
    const handler = createOpenAIChatHandler({ chat });
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] };
    const whole = await handler(jsonRequest('/api/v1/chat/completions', body), invocation());
    strictly(openAIChatCompletion, whole.jsonBody);
    const streamed = await handler(
      jsonRequest('/api/v1/chat/completions', { ...body, stream: true, stream_options: { include_usage: true } }),
      invocation(),
    );
    const events = sseEvents(await bodyText(streamed));
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) strictly(openAIChatCompletionChunk, event);
  });

  it('POST /api/v1/responses answers an OpenAIResponse, or typed events when streamed', async () => {
    const handler = createOpenAIResponsesHandler({ chat });
    const body = { model: 'gpt-4o', input: 'Hello' };
    strictly(openAIResponse, (await handler(jsonRequest('/api/v1/responses', body), invocation())).jsonBody);
    const streamed = await handler(jsonRequest('/api/v1/responses', { ...body, stream: true }), invocation());
    const events = sseEvents(await bodyText(streamed));
    expect(events.length).toBeGreaterThan(5);
    for (const event of events) strictly(openAIResponseStreamEvent, event);
  });

  it('GET /api/v1/models, /api/health and /api/health/deep answer their schemas', async () => {
    strictly(modelList, (await createOpenAIModelsHandler({ chat })(getRequest('/api/v1/models'))).jsonBody);
    strictly(healthSchema, (await createHealthHandler({ chat })()).jsonBody);
    const deep = createHealthDeepHandler({ config: chat.config, credentials: createCredentials(chat.config) });
    strictly(deepHealthSchema, (await deep(getRequest('/api/health/deep'), invocation())).jsonBody);
  });

  it('a rejected request answers the Error schema with details.fields', async () => {
    const response = await createChatPostHandler({ chat })(
      jsonRequest('/api/chat', { messages: [{ role: 'wizard', content: 1 }] }),
      invocation(),
    );
    expect(response.status).toBe(400);
    strictly(errorBodySchema, response.jsonBody);
    expect(errorBodySchema.parse(response.jsonBody).error.details?.fields?.length).toBeGreaterThan(0);
  });
});

describe('requests.http', () => {
  const schemaFor: Record<string, z.ZodType | undefined> = {
    '/chat': chatProtocolRequest,
    '/chat/stream': chatProtocolRequest,
    '/v1/chat/completions': openAIChatRequest,
    '/v1/responses': openAIResponsesRequest,
    '/conversations/{{conversationId}}': conversationPatch,
  };

  it('has an example for every operation of the document', () => {
    const path = (url: string) => url.replace('{{baseUrl}}', '').replace('{{conversationId}}', '{id}').split('?')[0];
    const examples = httpFileRequests().map((r) => `${r.method} ${path(r.url)}`);
    for (const [path, operations] of Object.entries(openAPIDocument().paths))
      for (const method of Object.keys(operations)) expect(examples).toContain(`${method.toUpperCase()} ${path}`);
  });

  it('sends bodies the endpoints accept, except the example of a rejected request', () => {
    const requests = httpFileRequests().filter((r) => r.url.startsWith('{{baseUrl}}') && r.body !== undefined);
    const verdicts = requests.map((r) => schemaFor[r.url.replace('{{baseUrl}}', '')]?.safeParse(r.body).success);
    expect(verdicts.filter((ok) => ok === false)).toHaveLength(1);
    expect(verdicts.filter((ok) => ok === true).length).toBeGreaterThanOrEqual(6);
  });
});
