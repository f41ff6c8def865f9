/**
 * The OpenAPI 3.1 document of this backend, served at `GET /api/openapi.json`. Request bodies come
 * from the very zod schemas that validate requests (shared/http/schemas.ts), so the document cannot
 * drift from what the endpoints accept; responses are described by the zod schemas below, which the
 * tests check real answers against.
 */
import { z } from 'zod';
import { chatProtocolRequest, conversationPatch, openAIChatRequest, openAIResponsesRequest } from './schemas';

const count = () => z.int().min(0);
const usage = z.object({ promptTokens: count(), completionTokens: count(), totalTokens: count() });

const partialReason = z
  .enum(['interrupted', 'client-disconnected', 'too-large'])
  .describe('Why an answer was stored cut short: the stream broke, the client left, or it was over the size limit.');

export const conversationOutcomeSchema = z
  .discriminatedUnion('state', [
    z.object({
      state: z.literal('stored'),
      id: z.string(),
      title: z.string(),
      turn: z.int().min(0),
      dropped: z.int().min(0).describe('Earlier messages left out to fit the model’s context window.'),
    }),
    z.object({
      state: z.literal('partial'),
      id: z.string(),
      title: z.string(),
      turn: z.int().min(0),
      reason: partialReason,
    }),
    z.object({
      state: z.literal('unavailable'),
      id: z.string(),
      warning: z.string().describe('Answered without history; nothing of this chat was stored.'),
    }),
  ])
  .describe('The conversation of the chat and what came of it; absent for a stateless chat.');

export const chatContextSchema = z
  .object({
    model: z.string().describe('The logical model that answered, e.g. gpt-4o.'),
    region: z.string().describe('The Azure region that answered.'),
    attempts: z.int().min(1).describe('Regions tried, this one included.'),
    finishReason: z.string().nullable().optional().describe('stop, length or content_filter.'),
    usage: usage.optional(),
    parts: z.array(z.record(z.string(), z.unknown())).optional(),
    conversation: conversationOutcomeSchema.optional(),
  })
  .describe('Where and how the answer was made.');

export const chatProtocolResponse = z.object({
  message: z.object({ role: z.literal('assistant'), content: z.string() }),
  context: chatContextSchema,
  sessionState: z.unknown().optional().describe('The sessionState of the request, returned as sent.'),
});

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('Stable error code, e.g. invalid_request, all_regions_failed.'),
    message: z.string().describe('What went wrong, for people.'),
    requestId: z.string().describe('Quote it when reporting a problem; also in the x-request-id header.'),
    details: z
      .object({
        fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
        diagnosis: z.string().optional().describe('Operator diagnosis; only where diagnostics are exposed.'),
        attempts: z.array(z.record(z.string(), z.unknown())).optional(),
      })
      .optional(),
  }),
});

export const chatStreamLine = z
  .object({
    delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }).optional(),
    context: chatContextSchema.optional(),
    sessionState: z.unknown().optional(),
    error: errorBodySchema.shape.error.optional(),
  })
  .describe(
    'One line of the stream: `{delta}` per piece of text, then one `{delta, context, sessionState}`; ' +
      'a stream broken after the first byte ends with an `{error}` line (SSE: `event: error`).',
  );

const openAIUsage = z.object({ prompt_tokens: z.int(), completion_tokens: z.int(), total_tokens: z.int() });

export const openAIChatCompletion = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.int(),
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        refusal: z.string().nullable().optional(),
        tool_calls: z.array(z.record(z.string(), z.unknown())).optional(),
      }),
      finish_reason: z.string().nullable(),
    }),
  ),
  usage: openAIUsage.optional(),
});

export const openAIChatCompletionChunk = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int(),
        delta: z.object({ role: z.string().optional(), content: z.string().nullable().optional() }),
        finish_reason: z.string().nullable(),
      }),
    ),
    usage: openAIUsage.nullable().optional(),
  })
  .describe('One `data:` event of a streamed completion; the stream ends with `data: [DONE]`.');

export const openAIResponse = z
  .object({
    id: z
      .string()
      .describe(
        "The response id: Azure's, a tag that binds it to the caller, and the region that stored it (`resp_…~<tag>~eastus2`).",
      ),
    object: z.literal('response'),
    created_at: z.number(),
    status: z.enum(['completed', 'incomplete', 'failed', 'in_progress', 'queued', 'cancelled']),
    model: z.string(),
    output: z.array(
      z.object({
        id: z.string().describe('Tagged and bound to the caller like the response id (usable in an item_reference).'),
        type: z.string(),
        role: z.string().optional(),
        status: z.string().optional(),
        content: z.array(z.object({ type: z.string(), text: z.string().optional() })).optional(),
      }),
    ),
    incomplete_details: z.object({ reason: z.string() }).nullable().optional(),
    error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
    previous_response_id: z.string().nullable().optional(),
    usage: z.object({ input_tokens: z.int(), output_tokens: z.int(), total_tokens: z.int() }).nullable().optional(),
  })
  .describe('An OpenAI Responses API response (other fields as the region sends them).');

export const openAIResponseStreamEvent = z
  .object({
    type: z.string().describe('response.created, response.output_text.delta, response.completed, error ...'),
    sequence_number: z.int().min(0),
  })
  .describe(
    'One event of a streamed response, sent as `event: <type>` and `data: <event>`. A stream broken after its ' +
      'first byte ends with `response.failed` and an `error` event whose `error` field is the Error body.',
  );

export const modelList = z.object({
  object: z.literal('list'),
  data: z.array(z.object({ id: z.string(), object: z.literal('model'), created: z.int(), owned_by: z.string() })),
});

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']).describe('ok while any region can serve and this instance is not shedding.'),
  models: z.array(z.string()),
  regions: z.array(
    z.object({
      name: z.string(),
      state: z
        .enum(['closed', 'open', 'half-open'])
        .describe('Circuit breaker: closed is healthy; half-open once the cool-down is over (ready to retry).'),
      trial: z
        .enum(['ready', 'in-flight'])
        .optional()
        .describe('With half-open: the next call tries the region (ready), or a trial call is out (in-flight).'),
      consecutiveFailures: z.int(),
      throttledUntil: z.iso.datetime().optional(),
      openUntil: z.iso.datetime().optional(),
      lastError: z.object({ code: z.string(), at: z.iso.datetime() }).optional(),
      lastSuccessAt: z.iso.datetime().optional(),
      verdict: z
        .enum(['serving', 'throttled', 'trial', 'open', 'failing', 'unchecked'])
        .optional()
        .describe(
          'What the probe made of the region: serving (a chat or check succeeded lately), throttled, trial, ' +
            'open (cooling down), failing (its check failed lately), unchecked (another region serves).',
        ),
      lastCheck: z
        .object({ ok: z.boolean(), at: z.iso.datetime(), code: z.string().optional() })
        .optional()
        .describe("The region's last real check (endpoint, credential, one-token completion) by this instance."),
    }),
  ),
  overload: z
    .discriminatedUnion('state', [
      z.object({ state: z.literal('off') }),
      z.object({
        state: z.enum(['admitting', 'shedding']),
        lagMs: z.int().describe('Smoothed event-loop lag, ms.'),
        thresholdMs: z.int().describe('CHAT_SHED_LAG_MS.'),
        inFlight: z.int().describe('Admitted requests still running (a request is shed only while one is).'),
        shed: z.int().describe('Requests turned away (503 overloaded) since the instance started.'),
      }),
    ])
    .optional()
    .describe('Load shedding of this instance: while `shedding`, chats answer 503 overloaded with Retry-After.'),
});

export const deepHealthSchema = z.object({
  status: z.enum(['ok', 'failing']),
  durationMs: z.int(),
  checks: z.array(
    z.object({
      region: z.string(),
      check: z.string().describe('endpoint, credential, or completion <model>.'),
      ok: z.boolean(),
      durationMs: z.int(),
      code: z.string().optional(),
      diagnosis: z.string().optional(),
      detail: z.string().optional(),
    }),
  ),
  error: errorBodySchema.shape.error.optional().describe('Present when a check failed (503).'),
});

export const conversationSchema = z.object({
  id: z.string().describe('22 characters; continue it with sessionState.conversationId or x-conversation-id.'),
  title: z.string(),
  created: z.iso.datetime(),
  updated: z.iso.datetime().describe('The last change; lists are newest change first.'),
  messageCount: z.int().min(0),
});

export const conversationListSchema = z.object({
  conversations: z.array(conversationSchema),
  continuationToken: z
    .string()
    .optional()
    .describe('Pass as ?continuationToken= for the next page; absent on the last.'),
});

export const conversationPageSchema = conversationSchema.extend({
  messages: z.array(
    z.object({
      turn: z.int().min(0).describe('The turn: a question and its answer share it.'),
      role: z.string(),
      content: z.unknown().describe('Text, or the content parts as sent.'),
      created: z.iso.datetime(),
      status: z.enum(['complete', 'partial']),
      partialReason: partialReason.optional(),
      finishReason: z.string().optional(),
    }),
  ),
  continuationToken: z
    .string()
    .optional()
    .describe('Pass as ?continuationToken= for the next turns; absent on the last.'),
});

/** Named schemas, in the order they appear under components.schemas. */
const SCHEMAS = {
  ChatRequest: chatProtocolRequest,
  ChatResponse: chatProtocolResponse,
  ChatStreamLine: chatStreamLine,
  OpenAIChatRequest: openAIChatRequest,
  OpenAIChatCompletion: openAIChatCompletion,
  OpenAIChatCompletionChunk: openAIChatCompletionChunk,
  OpenAIResponsesRequest: openAIResponsesRequest,
  OpenAIResponse: openAIResponse,
  OpenAIResponseStreamEvent: openAIResponseStreamEvent,
  ModelList: modelList,
  Health: healthSchema,
  DeepHealth: deepHealthSchema,
  Conversation: conversationSchema,
  ConversationList: conversationListSchema,
  ConversationPage: conversationPageSchema,
  ConversationPatch: conversationPatch,
  Error: errorBodySchema,
} as const;

type SchemaName = keyof typeof SCHEMAS;

function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SCHEMAS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  // Each is a Schema Object inside the document: the dialect is the document's (jsonSchemaDialect).
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: SchemaName) => ({ 'application/json': { schema: ref(name) } });

const requestIdHeader = {
  description: 'The request id: the caller’s x-request-id when sane, else a new UUID.',
  schema: { type: 'string' },
};
const servedHeaders = {
  'x-request-id': requestIdHeader,
  'x-chat-region': { description: 'The Azure region that answered.', schema: { type: 'string' } },
  'x-chat-attempts': { description: 'Regions tried, this one included.', schema: { type: 'string' } },
};
const retryAfter = { description: 'Seconds to wait before trying again.', schema: { type: 'string' } };

function error(description: string, withRetryAfter = false) {
  return {
    description,
    headers: { 'x-request-id': requestIdHeader, ...(withRetryAfter ? { 'retry-after': retryAfter } : {}) },
    content: json('Error'),
  };
}

/** Every error a chat endpoint can answer; the README's table says which code means what. */
const chatErrors = {
  '400': error(
    'invalid_json, invalid_request (details.fields names each field), unknown_model, content_filtered, context_length_exceeded.',
  ),
  '404': error(
    "not_found: no such conversation of the caller; previous_response_not_found (Responses API): previous_response_id or an item_reference names no stored response of the caller's.",
  ),
  '401': { description: 'Missing or wrong function key (x-functions-key header or code query parameter).' },
  '413': error('payload_too_large: the body is over 256 KB.'),
  '409': error(
    'previous_response_unavailable (Responses API): the region that stored previous_response_id cannot answer now; send the whole conversation.',
  ),
  '415': error('unsupported_media_type: the body is not application/json.'),
  '429': error('all_regions_throttled: every region is throttled; Retry-After says when to come back.', true),
  '502': error('A configuration problem of this backend (deployment_not_found, key_rejected, permission_denied, ...).'),
  '503': error(
    'all_regions_failed: no region could answer; overloaded: this instance is turning requests away. Retry-After says when to come back.',
    true,
  ),
};

function chatPost(
  operationId: string,
  summary: string,
  description: string,
  request: SchemaName,
  ok: Record<string, unknown>,
) {
  return {
    post: {
      operationId,
      summary,
      description,
      security: [{ functionKey: [] }, { functionKeyQuery: [] }],
      requestBody: { required: true, content: json(request) },
      responses: { '200': ok, ...chatErrors },
    },
  };
}

function buildDocument() {
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Azure Functions chat backend',
      version: '1.0.0',
      summary: 'Chat with Azure OpenAI across two regions with failover.',
      description:
        'AI Chat Protocol endpoints (`/chat`, `/chat/stream`) and an OpenAI-compatible API (`/v1`). ' +
        'Every error has the body `{"error": {"code", "message", "requestId"}}`, with Retry-After on 429 and 503.',
    },
    servers: [{ url: '/api', description: 'This backend (locally http://localhost:7071/api).' }],
    security: [{ functionKey: [] }, { functionKeyQuery: [] }],
    paths: { ...chatPaths(), ...responsesPaths(), ...conversationPaths(), ...servicePaths() },
    components: { schemas: componentSchemas(), securitySchemes },
  };
}

/** The chat endpoints: AI Chat Protocol and OpenAI Chat Completions. */
function chatPaths() {
  return {
    '/chat': chatPost(
      'chat',
      'One chat turn, the whole answer at once',
      'Microsoft AI Chat Protocol. `context.model` picks a model (default: the configured one).',
      'ChatRequest',
      { description: 'The answer.', headers: servedHeaders, content: json('ChatResponse') },
    ),
    '/chat/stream': chatPost(
      'chatStream',
      'One chat turn, streamed',
      'JSON lines (`application/x-ndjson`), or server-sent events with `Accept: text/event-stream`. ' +
        'Regions fail over before the first byte only.',
      'ChatRequest',
      {
        description: 'The answer, line by line.',
        headers: servedHeaders,
        content: {
          'application/x-ndjson': { schema: ref('ChatStreamLine') },
          'text/event-stream': { schema: { type: 'string', description: '`data: <ChatStreamLine>` events.' } },
        },
      },
    ),
    '/v1/chat/completions': chatPost(
      'createChatCompletion',
      'OpenAI Chat Completions',
      'Any OpenAI SDK with its base URL set to `<backend>/api/v1`. `model` is the logical model name. ' +
        '`stream: true` answers server-sent events ending with `data: [DONE]`.',
      'OpenAIChatRequest',
      {
        description: 'The completion, or the stream of chunks when `stream` is true.',
        headers: servedHeaders,
        content: {
          'application/json': { schema: ref('OpenAIChatCompletion') },
          'text/event-stream': {
            schema: {
              type: 'string',
              description: '`data: <OpenAIChatCompletionChunk>` events, then `data: [DONE]`.',
            },
          },
        },
      },
    ),
  };
}

/** The OpenAI Responses API. */
function responsesPaths() {
  return {
    '/v1/responses': chatPost(
      'createResponse',
      'OpenAI Responses API',
      'Any OpenAI SDK with its base URL set to `<backend>/api/v1` (text in, text out). `model` is the logical model ' +
        'name. `stream: true` answers typed server-sent events. Ids carry the region that stored them; a ' +
        '`previous_response_id` is served by that region only.',
      'OpenAIResponsesRequest',
      {
        description: 'The response, or its events when `stream` is true.',
        headers: servedHeaders,
        content: {
          'application/json': { schema: ref('OpenAIResponse') },
          'text/event-stream': {
            schema: { type: 'string', description: '`event: <type>` and `data: <OpenAIResponseStreamEvent>` events.' },
          },
        },
      },
    ),
  };
}

const pageParameters = [
  { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'continuationToken', in: 'query', schema: { type: 'string' }, description: 'From the previous page.' },
];
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const conversationErrors = {
  '401': error('unauthorized: sign in (Authorization: Bearer) or send a function key.'),
  '503': error('conversations_unavailable: no store configured, or the store does not answer.', true),
};
const notFound = error('not_found: no such conversation of the caller (another caller’s answers the same).');

/** The caller's conversations: each caller (user, app, or the function-key service) has their own. */
function conversationPaths() {
  const ok = (description: string, name: SchemaName) => ({ description, content: json(name) });
  return {
    '/conversations': {
      get: {
        operationId: 'listConversations',
        summary: 'The caller’s conversations, newest change first, a page at a time',
        parameters: pageParameters,
        responses: {
          '200': ok('A page of conversations.', 'ConversationList'),
          '400': error('invalid_request.'),
          ...conversationErrors,
        },
      },
      delete: {
        operationId: 'deleteAllConversations',
        summary: 'Delete all of the caller’s conversations and their messages',
        responses: {
          '200': { description: '`{"deleted": n}`.', content: { 'application/json': { schema: { type: 'object' } } } },
          ...conversationErrors,
        },
      },
    },
    '/conversations/{id}': {
      get: {
        operationId: 'getConversation',
        summary: 'A conversation and its messages in order, `pageSize` turns a page',
        parameters: [idParameter, ...pageParameters],
        responses: { '200': ok('The conversation.', 'ConversationPage'), '404': notFound, ...conversationErrors },
      },
      patch: {
        operationId: 'renameConversation',
        summary: 'Rename a conversation',
        parameters: [idParameter],
        requestBody: { required: true, content: json('ConversationPatch') },
        responses: { '200': ok('The conversation as listed.', 'Conversation'), '404': notFound, ...conversationErrors },
      },
      delete: {
        operationId: 'deleteConversation',
        summary: 'Delete a conversation and all its messages',
        parameters: [idParameter],
        responses: { '204': { description: 'Deleted.' }, '404': notFound, ...conversationErrors },
      },
    },
  };
}

/** Everything beside chat: models, health, the deep checks, this document. */
function servicePaths() {
  return {
    '/v1/models': {
      get: {
        operationId: 'listModels',
        summary: 'The models clients may ask for',
        responses: {
          '200': { description: 'Logical model names.', content: json('ModelList') },
          '401': { description: 'Missing or wrong function key.' },
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Whether this stamp can serve: the probe Front Door reads',
        description:
          'Answers from the breakers and recent chats; a region with nothing fresh to go on is checked for real ' +
          '(endpoint, credential, a one-token completion) at most once per CHAT_HEALTH_CHECK_INTERVAL_MS per instance.',
        security: [],
        responses: {
          '200': {
            description: 'A region can serve. Per region: breaker state, verdict, last check.',
            content: json('Health'),
          },
          '503': { description: 'No region can serve (the same body).', content: json('Health') },
        },
      },
    },
    '/health/deep': {
      get: {
        operationId: 'deepHealth',
        summary: 'Probe every region for real',
        description:
          'Per region: endpoint, credential, and a one-token completion per deployment (what `npm run doctor` runs). ' +
          'Diagnoses appear where error bodies carry them.',
        responses: {
          '200': { description: 'Every check passed.', content: json('DeepHealth') },
          '401': { description: 'Missing or wrong function key.' },
          '503': {
            description: 'A check failed; `error` says which.',
            headers: { 'retry-after': retryAfter },
            content: json('DeepHealth'),
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        security: [],
        responses: {
          '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  };
}

const securitySchemes = {
  functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key', description: 'An Azure Functions key.' },
  functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code', description: 'The same key as a query parameter.' },
};

let document: ReturnType<typeof buildDocument> | undefined;

/** The document, built once per process. */
export function openAPIDocument(): ReturnType<typeof buildDocument> {
  document ??= buildDocument();
  return document;
}
