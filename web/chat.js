// The whole demo client: POST the conversation to /api/chat/stream and read the answer as it streams.
// The body is JSON lines (AI Chat Protocol): {"delta":{"content":"..."}} per piece of text, then one
// line with "context" (region, usage...), or an {"error":{...}} line if the model broke off mid-answer.
// Blank lines are keep-alives sent while the backend waits for a region; skip them.
// Signed in (sign-in.js), requests carry the user's access token instead of the function key.
// conversations.js keeps the conversation list and says what each request carries of the history.
'use strict';
// tools.js offers the model a get_time tool the page answers itself (the "get_time tool" box).
/* global startSignIn, startConversations, startTools -- from sign-in.js, conversations.js and tools.js, loaded before this file */

const API_URL = new URL('../', location.href); // this page is served at /api/web/
const STREAM_URL = new URL('chat/stream', API_URL);
const isLocal = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

const keyInput = document.getElementById('key');
const regionBadge = document.getElementById('region');
const messagesBox = document.getElementById('messages');
const form = document.getElementById('ask');
const questionInput = document.getElementById('question');
const sendButton = document.getElementById('send');

/** The conversation so far, sent with a question when the backend keeps no history of it. */
const messages = [];

keyInput.value = localStorage.getItem('functionKey') ?? (isLocal ? 'local-dev-key' : '');
keyInput.addEventListener('change', () => localStorage.setItem('functionKey', keyInput.value));

/** The conversation list and what each request carries of the history. */
const conversations = startConversations({ call: callApi, onOpen: showConversation, onError: showError });

/** The sign-in session; if config.json cannot be read, the page still works with the key. */
const signIn = startSignIn({
  onChange: (name) => {
    keyInput.disabled = name !== undefined; // the token is sent instead
    conversations.accountChanged(name);
  },
  onError: (message) => addMessage('error', message),
}).catch((error) => {
  addMessage('error', error.message);
  return { kind: 'none', accessToken: async () => undefined, signOut: async () => {} };
});
void signIn.then(async (session) =>
  conversations.restore({ enabled: session.conversations, signedIn: (await session.accessToken()) !== undefined }),
);

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = questionInput.value.trim();
  if (question === '') return;
  questionInput.value = '';
  void ask(question);
});

// Enter sends, Shift+Enter makes a new line.
questionInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

async function ask(question) {
  messages.push({ role: 'user', content: question });
  addMessage('user', question);
  // The answer's bubble appears with its first words, never as an empty box while the model has not begun.
  let bubble;
  showRegion(undefined); // until this answer says where it came from
  sendButton.disabled = true;
  conversations.setBusy(true);
  try {
    const onText = (text) => {
      if (bubble === undefined) bubble = addMessage('assistant', text);
      else appendText(bubble, text);
    };
    const answer = tools.enabled()
      ? await tools.answer(messages, {
          onText,
          onRegion: showRegion,
          onToolCall: (name, args, result) => {
            const call = addMessage('tool', `${name}(${args}) → ${result}`);
            // The call came before the answer (whose bubble exists once its first words arrived).
            if (bubble !== undefined) messagesBox.insertBefore(call, bubble);
          },
        })
      : await streamAnswer(onText);
    messages.push({ role: 'assistant', content: answer });
  } catch (error) {
    // A region shown by the response headers before the stream broke did not answer after all.
    showRegion(undefined);
    showError(error);
    messages.pop(); // let the user ask again
  } finally {
    sendButton.disabled = false;
    conversations.setBusy(false);
    questionInput.focus();
  }
}

/** Streams one answer, calling onText for each piece; resolves with the whole text. */
async function streamAnswer(onText) {
  const { headers, sent } = await credentials();
  headers['content-type'] = 'application/json';
  const body = JSON.stringify(conversations.requestBody(messages));
  const response = await fetch(STREAM_URL, { method: 'POST', headers, body });
  if (!response.ok) throw await responseError(response, sent);
  showRegion(response.headers.get('x-chat-region')); // absent when the stream started with keep-alives

  let answer = '';
  for await (const line of jsonLines(response.body)) {
    const frame = JSON.parse(line);
    if (frame.error) throw withDetail(new Error(frame.error.message), frame.error);
    if (frame.delta?.content) {
      answer += frame.delta.content;
      onText(frame.delta.content);
    }
    if (frame.context?.region) showRegion(frame.context.region);
    if (frame.context) conversations.answered(frame.context);
  }
  return answer;
}

/** The get_time tool: its requests go through the same credentials and error handling as chat. */
const tools = startTools({
  call: callApi,
  post: async (path, json) => {
    const { headers, sent } = await credentials();
    headers['content-type'] = 'application/json';
    const response = await fetch(new URL(path, API_URL), { method: 'POST', headers, body: JSON.stringify(json) });
    if (!response.ok) throw await responseError(response, sent);
    return response;
  },
});

/** What proves who is asking: the signed-in user's token, else the key field. `sent` says which (or nothing). */
async function credentials() {
  const token = await (await signIn).accessToken();
  if (token !== undefined) return { headers: { authorization: `Bearer ${token}` }, sent: 'token' };
  if (keyInput.value !== '') return { headers: { 'x-functions-key': keyInput.value }, sent: 'key' };
  return { headers: {}, sent: 'nothing' };
}

/**
 * One call to the API at `path` (relative to /api/): its JSON answer, undefined for 204. A failure throws the
 * page's usual error, with the status and the body's code to tell a missing store from a real problem.
 */
async function callApi(method, path, json) {
  const { headers, sent } = await credentials();
  if (json !== undefined) headers['content-type'] = 'application/json';
  const body = json === undefined ? undefined : JSON.stringify(json);
  const response = await fetch(new URL(path, API_URL), { method, headers, body });
  if (response.ok) return response.status === 204 ? undefined : response.json();
  const code = (
    await response
      .clone()
      .json()
      .catch(() => undefined)
  )?.error?.code;
  throw Object.assign(await responseError(response, sent), { status: response.status, code });
}

/** The non-empty lines of a streamed body, as they arrive. */
async function* jsonLines(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const lines = buffered.split('\n');
    buffered = lines.pop(); // an incomplete last line waits for the next read
    yield* lines.filter((line) => line.trim() !== '');
  }
  if (buffered.trim() !== '') yield buffered;
}

/**
 * The error to show for a failed response. Error bodies are {"error": {"code", "message", "requestId"}}; the
 * local host's 401 may have no body at all, so what a 401 means is decided by what was sent (`sent`: token,
 * key or nothing), not by the body.
 */
async function responseError(response, sent) {
  const body = await response.json().catch(() => undefined);
  const error = body?.error;
  if (response.status === 401) return withDetail(new Error(await unauthorizedMessage(sent, error)), error);
  if (typeof error?.message !== 'string') return new Error(`The backend answered ${response.status}.`);
  return withDetail(new Error(withRetryTime(error.message, retryAfterSeconds(response))), error);
}

/** What a 401 means for the reader. A refused token is dropped (signed out), so signing in again starts afresh. */
async function unauthorizedMessage(sent, error) {
  if (sent === 'token') {
    await (await signIn).signOut();
    const why = typeof error?.message === 'string' ? error.message : 'The backend did not accept the access token.';
    return `Your sign-in expired or was refused: ${why} Sign in again.`;
  }
  if (sent === 'key') return 'The function key was rejected. Check the key field (x-functions-key).';
  if ((await signIn).kind !== 'none') return 'The backend needs you to sign in, or a function key in the key field.';
  return 'The backend needs a function key (x-functions-key). Enter it in the key field.';
}

/**
 * The server's message with one sentence about when to retry. Its own ("Try again shortly.", "Retry after
 * the time in Retry-After.") is vague, so it gives way to the Retry-After header's time when there is one.
 */
function withRetryTime(message, seconds) {
  if (seconds === undefined) return message;
  const rest = message.replace(/\s*\b(?:try again|retry)\b[^.]*\.?\s*$/i, '');
  return `${rest} Try again in ${seconds} s.`.trim();
}

/** Retry-After in whole seconds (it is a number of seconds or an HTTP date), or undefined. */
function retryAfterSeconds(response) {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : undefined;
}

/** Keeps the error's code and request id (for a tooltip: what support needs, not what a reader needs). */
function withDetail(error, body) {
  if (body?.code) error.detail = `${body.code}${body.requestId ? `, request ${body.requestId}` : ''}`;
  return error;
}

/** Shows an error in the list, its code and request id as the tooltip. */
function showError(error) {
  addMessage('error', error.message).title = error.detail ?? '';
}

/** Shows an opened conversation (or none: a new chat) in place of the messages shown. */
function showConversation(opened) {
  messages.splice(0, messages.length, ...opened);
  messagesBox.replaceChildren();
  for (const message of opened) addMessage(message.role, message.content);
  showRegion(undefined);
}

/** Shows the region that answered; undefined shows none. */
function showRegion(region) {
  regionBadge.textContent = `region: ${region ?? '-'}`;
}

/** Adds a message at the end of the list and scrolls to it: the reader just asked, so follow along. */
function addMessage(kind, text) {
  const element = document.createElement('div');
  element.className = `message ${kind}`;
  element.textContent = text;
  messagesBox.append(element);
  messagesBox.scrollTop = messagesBox.scrollHeight;
  return element;
}

/**
 * Adds streamed text to a message, keeping the newest text in view if the list was at its end; a reader
 * who scrolled up to reread something is left where they are.
 */
function appendText(element, text) {
  const atEnd = messagesBox.scrollHeight - messagesBox.scrollTop - messagesBox.clientHeight < 32;
  element.textContent += text;
  if (atEnd) messagesBox.scrollTop = messagesBox.scrollHeight;
}
