/**
 * A client that leaves a streamed answer is a normal end of the invocation, as far as the app can make it one: the
 * handler's body ends (the upstream call is aborted) and nothing is thrown, so the local host logs the invocation
 * as succeeded. (In Azure the Functions host itself still logs it
 * as failed, `ResponseBodyCanceled`: its own write to the gone client fails, after the app's part ended; the
 * README says so.) Every answer that ran a function carries `x-ms-invocation-id`, as the Functions host's do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalHostLogger } from '../../local/host';
import { FUNCTION_KEY, startBackend, type Backend } from './backend';

let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

/** A logger that keeps every line and resolves `executed` with the first `Executed '…chat-stream-post'` line. */
function recordingLogger(): { logger: LocalHostLogger; lines: string[]; executed: Promise<string> } {
  const lines: string[] = [];
  let resolve!: (line: string) => void;
  const executed = new Promise<string>((r) => (resolve = r));
  const record = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
    if (message.startsWith("Executed 'Functions.chat-stream-post'")) resolve(`${level} ${message}`);
  };
  return { logger: { info: record('info'), warn: record('warn'), error: record('error') }, lines, executed };
}

// One host per process: the in-process hand-over, npm start's way (test/local covers the loopback hop's headers).
describe('a client leaving a stream', () => {
  it('ends the invocation as succeeded, with no error logged, and the answer named its invocation', async () => {
    const { logger, lines, executed } = recordingLogger();
    backend = await startBackend({}, { latency: 'realistic', logger });
    const client = new AbortController();
    const response = await fetch(`${backend.host.url}/api/chat/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': FUNCTION_KEY },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a long story' }] }),
      signal: client.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    client.abort();

    const line = await executed;
    expect(line).toMatch(/^info Executed 'Functions\.chat-stream-post' \(Succeeded, Id=/);
    expect(line).toContain(response.headers.get('x-ms-invocation-id'));
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);
  }, 30_000);
});
