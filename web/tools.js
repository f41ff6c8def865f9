// A tool the page runs itself: with "get_time tool" ticked, a question goes to the OpenAI-compatible
// endpoint (POST /api/v1/chat/completions, streamed) with a get_time function tool. When the model calls it,
// the page answers the call here in the browser (the time in the asked time zone), shows the call and its
// result, and sends them back for the model's answer: the two steps every tool-using front-end makes.
// The exchange is stateless (store: false): the page sends the conversation it shows.
'use strict';
/* exported startTools */

const GET_TIME = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'The current time in a time zone.',
    parameters: {
      type: 'object',
      properties: { timezone: { type: 'string', description: 'An IANA time zone, e.g. Europe/Paris' } },
      required: ['timezone'],
      additionalProperties: false,
    },
  },
};

/** Steps at most for one question: a call, its answer, and one more call if the model asks again. */
const MAX_STEPS = 3;

/**
 * The tool mode of the page. `call(method, path, json)` calls the API (credentials and errors handled),
 * `post(path, json)` returns the raw streamed response (already checked ok).
 */
function startTools({ call, post }) {
  const toggle = document.getElementById('use-tools');
  let model;

  /** The model to ask: the first the backend lists. */
  async function modelName() {
    model ??= (await call('GET', 'v1/models')).data[0]?.id;
    return model;
  }

  /**
   * Answers `messages` (the conversation, the question last) with get_time offered: `onText(text)` for each
   * piece of the answer, `onToolCall(name, args, result)` for each call the page answered, `onRegion(region)`.
   * Resolves with the answer's text.
   */
  async function answer(messages, { onText, onToolCall, onRegion }) {
    const sent = [...messages];
    for (let step = 0; step < MAX_STEPS; step++) {
      const body = { model: await modelName(), messages: sent, tools: [GET_TIME], stream: true, store: false };
      const response = await post('v1/chat/completions', body);
      onRegion(response.headers.get('x-chat-region'));
      const { text, toolCalls } = await readCompletion(response.body, onText);
      if (toolCalls.length === 0) return text;
      sent.push({ role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls });
      for (const toolCall of toolCalls) {
        const result = runTool(toolCall.function.name, toolCall.function.arguments);
        onToolCall(toolCall.function.name, toolCall.function.arguments, result);
        sent.push({ role: 'tool', tool_call_id: toolCall.id, content: result });
      }
    }
    throw new Error(`The model kept calling tools (${MAX_STEPS} steps); ask again.`);
  }

  return { enabled: () => toggle.checked, answer };
}

/** Runs a tool the page offers; what it returns is text for the model. */
function runTool(name, args) {
  if (name !== 'get_time') return `Unknown tool ${name}.`;
  let timezone;
  try {
    timezone = JSON.parse(args).timezone;
  } catch {
    return 'The arguments were not JSON.';
  }
  const now = new Date();
  try {
    return `${now.toLocaleTimeString('en-GB', { timeZone: timezone })} (${timezone})`;
  } catch {
    return `${now.toLocaleTimeString('en-GB', { timeZone: 'UTC' })} (UTC; unknown time zone ${JSON.stringify(timezone)})`;
  }
}

/**
 * Reads a streamed completion (server-sent events, `data: {...}` then `data: [DONE]`): the text, and the tool
 * calls put together from their deltas (a call's first delta has its id and name, later ones add fragments
 * of its arguments, by `index`). An `error` event (the region broke mid-answer) throws.
 */
async function readCompletion(stream, onText) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const calls = [];
  let text = '';
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const events = buffered.split('\n\n');
    buffered = events.pop();
    for (const event of events) {
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
      if (data === '' || data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw Object.assign(new Error(chunk.error.message), { detail: chunk.error.code });
      const delta = chunk.choices?.[0]?.delta ?? {};
      if (delta.content) {
        text += delta.content;
        onText(delta.content);
      }
      for (const part of delta.tool_calls ?? []) {
        const call = (calls[part.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (part.id) call.id = part.id;
        if (part.function?.name) call.function.name += part.function.name;
        if (part.function?.arguments) call.function.arguments += part.function.arguments;
      }
    }
  }
  return { text, toolCalls: calls.filter(Boolean) };
}
