// The whole demo client: POST the conversation to /api/chat/stream and read the answer as it streams.
// The body is JSON lines (AI Chat Protocol): {"delta":{"content":"..."}} per piece of text, then one
// line with "context" (region, usage...), or an {"error":{...}} line if the model broke off mid-answer.
// Blank lines are keep-alives sent while the backend waits for a region; skip them.
'use strict';

const STREAM_URL = new URL('../chat/stream', location.href); // this page is served at /api/web/
const isLocal = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);

const keyInput = document.getElementById('key');
const regionBadge = document.getElementById('region');
const messagesBox = document.getElementById('messages');
const form = document.getElementById('ask');
const questionInput = document.getElementById('question');
const sendButton = document.getElementById('send');

/** The conversation so far, sent with every question (the backend keeps no history). */
const messages = [];

keyInput.value = localStorage.getItem('functionKey') ?? (isLocal ? 'local-dev-key' : '');
keyInput.addEventListener('change', () => localStorage.setItem('functionKey', keyInput.value));

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
  const bubble = addMessage('assistant', '');
  sendButton.disabled = true;
  try {
    const answer = await streamAnswer((text) => (bubble.textContent += text));
    messages.push({ role: 'assistant', content: answer });
  } catch (error) {
    if (bubble.textContent === '') bubble.remove();
    addMessage('error', error.message);
    messages.pop(); // let the user ask again
  } finally {
    sendButton.disabled = false;
    questionInput.focus();
  }
}

/** Streams one answer, calling onText for each piece; resolves with the whole text. */
async function streamAnswer(onText) {
  const headers = { 'content-type': 'application/json' };
  if (keyInput.value !== '') headers['x-functions-key'] = keyInput.value;
  const response = await fetch(STREAM_URL, { method: 'POST', headers, body: JSON.stringify({ messages }) });
  if (!response.ok) throw new Error(await errorMessage(response));
  showRegion(response.headers.get('x-chat-region')); // absent when the stream started with keep-alives

  let answer = '';
  for await (const line of jsonLines(response.body)) {
    const frame = JSON.parse(line);
    if (frame.error) throw new Error(frame.error.message);
    if (frame.delta?.content) {
      answer += frame.delta.content;
      onText(frame.delta.content);
    }
    if (frame.context?.region) showRegion(frame.context.region);
  }
  return answer;
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

/** Every error from the backend has the body {"error": {"code", "message", "requestId"}}. */
async function errorMessage(response) {
  if (response.status === 401) return 'The backend needs a function key (x-functions-key). Check the key field.';
  try {
    const { error } = await response.json();
    const retry = response.headers.get('retry-after');
    return `${error.message}${retry ? ` Try again in ${retry} s.` : ''} (${error.code})`;
  } catch {
    return `The backend answered ${response.status}.`;
  }
}

function showRegion(region) {
  if (region) regionBadge.textContent = `region: ${region}`;
}

function addMessage(kind, text) {
  const element = document.createElement('div');
  element.className = `message ${kind}`;
  element.textContent = text;
  messagesBox.append(element);
  element.scrollIntoView({ block: 'end' });
  return element;
}
