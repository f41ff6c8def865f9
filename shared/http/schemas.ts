/**
 * Request schemas (zod): the same definitions validate requests and generate the OpenAPI document.
 * Limits are deliberately finite so careless or hostile input gets a 4xx, never a 500 or a hang.
 */
import { z } from 'zod';
import { LONE_SURROGATE } from './body';

export const LIMITS = {
  /** Messages in one request. */
  maxMessages: 256,
  /** Characters in one message's text. */
  maxMessageChars: 100_000,
  /** Largest max_tokens a client may ask for. */
  maxTokens: 16_384,
  maxModelNameChars: 64,
} as const;

const text = z
  .string()
  .max(LIMITS.maxMessageChars, `must be at most ${LIMITS.maxMessageChars} characters`)
  .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode text (it has a lone surrogate)');
const maxTokens = z
  .number()
  .int()
  .min(1)
  .max(LIMITS.maxTokens)
  .describe(`Largest answer, in tokens (at most ${LIMITS.maxTokens}).`);
const temperature = z.number().min(0).max(2);
const modelName = z
  .string()
  .min(1)
  .max(LIMITS.maxModelNameChars)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be a model name like gpt-4o')
  .describe('Logical model name, e.g. gpt-4o (GET /api/v1/models lists them); each region maps it to its deployment.');
/** OpenAI's rule for participant and function names. */
const name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

/**
 * A tool's `type`: only `function` tools. Built-in tools (web_search, file_search, code_interpreter, ...)
 * are refused by name: they run against resources of one Azure resource (vector stores, containers, files)
 * or are not offered by Azure OpenAI, so no request using them could fail over to another region.
 */
const functionToolType = z.literal('function', {
  error: (issue) =>
    `tool type ${JSON.stringify(issue.input)} is not available through this backend: only function tools ({"type":"function", ...}); built-in tools cannot fail over between regions`,
});

/** Microsoft AI Chat Protocol (`@microsoft/ai-chat-protocol`) request. */
export const chatProtocolMessage = z
  .object({
    role: z.enum(['user', 'assistant', 'system']),
    content: text,
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const chatProtocolRequest = z
  .object({
    messages: z.array(chatProtocolMessage).min(1, 'must have at least one message').max(LIMITS.maxMessages),
    stream: z.boolean().optional(),
    context: z
      .object({
        model: modelName.optional(),
        max_tokens: maxTokens.optional(),
        temperature: temperature.optional(),
        store: z
          .boolean()
          .optional()
          .describe('false: a stateless chat, no conversation loaded, started or stored (default true).'),
      })
      .strict()
      .optional(),
    sessionState: z
      .unknown()
      .optional()
      .describe(
        'Any JSON; returned as sent. `{"conversationId": "<id>"}` continues a stored conversation (`"new"` starts one); ' +
          'the answer’s sessionState carries the conversation’s id.',
      ),
  })
  .strict();

export type ChatProtocolRequest = z.infer<typeof chatProtocolRequest>;

const textPart = z.object({ type: z.literal('text'), text }).strict();
const imagePart = z
  .object({
    type: z.literal('image_url'),
    image_url: z
      .object({
        url: z
          .string()
          .max(200_000)
          .regex(/^(https:\/\/|data:image\/)/, 'must be an https URL or a data:image URL'),
        detail: z.enum(['auto', 'low', 'high']).optional(),
      })
      .strict(),
  })
  .strict();
const TEXT_ONLY = 'must be text, or an array of {"type":"text"} parts (images only in user messages)';
const contentParts = z
  .array(z.union([textPart, imagePart], { error: 'must be a {"type":"text"} or {"type":"image_url"} part' }))
  .min(1)
  .max(64);

const toolCall = z.object({
  id: z.string().max(256),
  type: z.literal('function'),
  function: z.object({ name: z.string().max(256), arguments: z.string().max(LIMITS.maxMessageChars) }),
});

const openAIMessage = z.discriminatedUnion('role', [
  z
    .object({
      role: z.literal('system'),
      content: z.union([text, z.array(textPart).min(1)], { error: TEXT_ONLY }),
      name: name.optional(),
    })
    .strict(),
  z
    .object({
      role: z.literal('developer'),
      content: z.union([text, z.array(textPart).min(1)], { error: TEXT_ONLY }),
      name: name.optional(),
    })
    .strict(),
  z
    .object({
      role: z.literal('user'),
      content: z.union([text, contentParts], { error: 'must be text, or an array of text and image_url parts' }),
      name: name.optional(),
    })
    .strict(),
  z
    .object({
      role: z.literal('assistant'),
      content: z.union([text, z.array(textPart), z.null()], { error: TEXT_ONLY }).optional(),
      name: name.optional(),
      tool_calls: z.array(toolCall).max(128).optional(),
      refusal: z.string().nullable().optional(),
    })
    .strict(),
  z
    .object({
      role: z.literal('tool'),
      content: z.union([text, z.array(textPart)], { error: TEXT_ONLY }),
      tool_call_id: z.string().max(256),
    })
    .strict(),
]);

/** OpenAI Chat Completions request, as any OpenAI SDK sends it. */
export const openAIChatRequest = z
  .object({
    model: modelName,
    messages: z.array(openAIMessage).min(1, 'must have at least one message').max(LIMITS.maxMessages),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
    max_tokens: maxTokens.nullable().optional(),
    max_completion_tokens: maxTokens.nullable().optional(),
    temperature: temperature.nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    n: z.literal(1).nullable().optional(),
    stop: z
      .union([z.string().max(256), z.array(z.string().max(256)).max(4)])
      .nullable()
      .optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    user: z.string().max(256).optional(),
    store: z
      .boolean()
      .nullable()
      .optional()
      .describe(
        'false: a stateless chat, no conversation started or stored (default true for signed-in users); never sent upstream.',
      ),
    logit_bias: z
      .record(z.string().regex(/^\d{1,7}$/, 'must be a token id'), z.number().min(-100).max(100))
      .refine((bias) => Object.keys(bias).length <= 300, 'must have at most 300 entries')
      .nullable()
      .optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    reasoning_effort: z.enum(['minimal', 'low', 'medium', 'high']).nullable().optional(),
    response_format: z
      .union([
        z.object({ type: z.literal('text') }).strict(),
        z.object({ type: z.literal('json_object') }).strict(),
        z.object({ type: z.literal('json_schema'), json_schema: z.record(z.string(), z.unknown()) }).strict(),
      ])
      .optional(),
    tools: z
      .array(
        z.object({
          type: functionToolType,
          function: z.object({
            name,
            description: z.string().max(4096).optional(),
            parameters: z.record(z.string(), z.unknown()).optional(),
            strict: z.boolean().nullable().optional(),
          }),
        }),
      )
      .max(128)
      .optional(),
    tool_choice: z
      .union([
        z.enum(['none', 'auto', 'required']),
        z.object({ type: z.literal('function'), function: z.object({ name }) }),
      ])
      .optional(),
    parallel_tool_calls: z.boolean().optional(),
  })
  .strict();

export type OpenAIChatRequest = z.infer<typeof openAIChatRequest>;

const inputText = z.object({ type: z.literal('input_text'), text }).strict();
const outputText = z
  .object({
    type: z.literal('output_text'),
    text,
    annotations: z.array(z.unknown()).max(0, 'must be empty (annotations are not sent back)').optional(),
    logprobs: z.array(z.unknown()).optional(),
  })
  .strict();
const inputImage = z
  .object({
    type: z.literal('input_image'),
    image_url: imagePart.shape.image_url.shape.url,
    detail: z.enum(['auto', 'low', 'high']).optional(),
  })
  .strict();

/** A message of a Responses API `input` (the easy form `{role, content}` or a `type: "message"` item). */
const responseMessage = z
  .object({
    type: z.literal('message').optional(),
    role: z.enum(['user', 'assistant', 'system', 'developer']),
    content: z.union(
      [
        text,
        z
          .array(
            z.union([inputText, outputText, inputImage], {
              error: 'must be an input_text, output_text or input_image part',
            }),
          )
          .min(1)
          .max(64),
      ],
      { error: 'must be text, or an array of input_text, output_text and input_image parts' },
    ),
    id: z.string().max(256).optional().describe('An earlier answer’s item id; ignored (the content is sent).'),
    status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
  })
  .strict();
const callId = z.string().min(1).max(256);
/** A function call of an earlier answer, sent back (ResponseFunctionToolCall). */
const functionCallItem = z
  .object({
    type: z.literal('function_call'),
    call_id: callId,
    name,
    arguments: z.string().max(LIMITS.maxMessageChars),
    id: z.string().max(256).optional().describe('The call’s output item id as this backend returned it.'),
    status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
  })
  .strict();
/** What the client's function returned for a call (`call_id`). */
const functionCallOutputItem = z
  .object({
    type: z.literal('function_call_output'),
    call_id: callId,
    output: z.union(
      [
        text,
        z
          .array(z.union([inputText, inputImage]))
          .min(1)
          .max(64),
      ],
      {
        error: 'must be text, or an array of input_text and input_image parts',
      },
    ),
    id: z.string().max(256).optional(),
    status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
  })
  .strict();
/** A function the model may call (FunctionTool). */
const responseFunctionTool = z
  .object({
    type: functionToolType,
    name,
    description: z.string().max(4096).nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).nullable().optional(),
    strict: z.boolean().nullable().optional(),
  })
  .strict();

const itemReference = z
  .object({
    type: z.literal('item_reference'),
    id: z.string().min(1).max(256).describe('An output item id this backend returned.'),
  })
  .strict();

/**
 * OpenAI Responses API request (text and function calls), as the OpenAI SDKs, the Vercel AI SDK and
 * LangChain send it. Other fields (reasoning, include, conversation, background ...) are refused by name.
 */
export const openAIResponsesRequest = z
  .object({
    model: modelName,
    input: z.union(
      [
        text,
        z
          .array(
            z.union([itemReference, functionCallItem, functionCallOutputItem, responseMessage], {
              error:
                'must be a message ({role, content}), an item_reference, a function_call or a function_call_output',
            }),
          )
          .min(1, 'must have at least one item')
          .max(LIMITS.maxMessages),
      ],
      {
        error:
          'must be text, or an array of messages ({role, content}), item references, function calls and their outputs',
      },
    ),
    instructions: text.nullable().optional().describe('A system (developer) message for this response only.'),
    previous_response_id: z
      .string()
      .min(1)
      .max(256)
      .nullable()
      .optional()
      .describe('Continue a stored response (an id this backend returned); served by the region that stored it.'),
    max_output_tokens: z
      .number()
      .int()
      .min(16)
      .max(LIMITS.maxTokens)
      .nullable()
      .optional()
      .describe(`Largest answer, in tokens (16 to ${LIMITS.maxTokens}).`),
    temperature: temperature.nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    store: z.boolean().nullable().optional().describe('Keep the response for previous_response_id (default true).'),
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((m) => Object.keys(m).length <= 16, 'must have at most 16 entries')
      .nullable()
      .optional(),
    user: z.string().max(256).optional(),
    tools: z.array(responseFunctionTool).max(128).nullable().optional(),
    tool_choice: z
      .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name }).strict()])
      .nullable()
      .optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    truncation: z.enum(['auto', 'disabled']).nullable().optional(),
    text: z
      .object({
        format: z
          .union([
            z.object({ type: z.literal('text') }).strict(),
            z.object({ type: z.literal('json_object') }).strict(),
            z
              .object({
                type: z.literal('json_schema'),
                name,
                schema: z.record(z.string(), z.unknown()),
                description: z.string().max(4096).optional(),
                strict: z.boolean().nullable().optional(),
              })
              .strict(),
          ])
          .optional(),
        verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

export type OpenAIResponsesRequest = z.infer<typeof openAIResponsesRequest>;
/** PATCH /api/conversations/{id}: a new title. */
export const conversationPatch = z
  .object({
    title: z
      .string()
      .max(200)
      .refine((s) => s.trim() !== '', 'must not be blank')
      .describe('The new title; one line, cut at 80 characters.'),
  })
  .strict();
