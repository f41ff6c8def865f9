/**
 * `BENCH_ONLY=conversations`: what a stored conversation adds to a chat. One backend on one
 * Azurite (temporary folder) and two quiet simulated regions. Setup: `conversations` conversations of 20
 * turns each, made through the backend. Then, one request at a time, alternately: the 21st question of one
 * of them (`x-conversation-id`: the backend loads 40 messages, fits them to the context window, stores the
 * question, then the answer), and the same 41 messages sent inline without a conversation. The
 * difference of the p50s is the row's measure; goal < 3 ms on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { startAzurite } from '../local/azurite';
import { backendClient } from './load';
import { regionsSetting, startBackendProcess, startSimulatorProcess } from './processes';
import { percentile } from './stats';

export interface ConversationBenchResult {
  readonly turns: number;
  readonly requests: number;
  readonly conversation: { readonly p50: number; readonly p95: number };
  readonly inline: { readonly p50: number; readonly p95: number };
  /** Conversation p50 minus inline p50, ms. */
  readonly addedP50: number;
}

const TURNS = 20;
const MODEL = 'gpt-4o';
const MAX_TOKENS = 30;

/** One chat; its latency (ms) and the conversation id it went to. */
async function timedChat(
  client: OpenAI,
  messages: ChatCompletionMessageParam[],
  conversation?: string,
): Promise<{ ms: number; id: string; answer: string }> {
  const started = performance.now();
  const { data, response } = await client.chat.completions
    .create(
      { model: MODEL, messages, max_tokens: MAX_TOKENS },
      conversation ? { headers: { 'x-conversation-id': conversation } } : {},
    )
    .withResponse();
  const ms = performance.now() - started;
  return { ms, id: response.headers.get('x-conversation-id') ?? '', answer: data.choices[0]?.message.content ?? '' };
}

/** A conversation of TURNS turns made through the backend; its id and its messages as the model saw them. */
async function makeConversation(
  client: OpenAI,
  n: number,
): Promise<{ id: string; history: ChatCompletionMessageParam[] }> {
  const history: ChatCompletionMessageParam[] = [];
  let id = 'new';
  for (let turn = 0; turn < TURNS; turn++) {
    const question: ChatCompletionMessageParam = {
      role: 'user',
      content: `Conversation ${n}, question ${turn}: tell me more.`,
    };
    const answer = await timedChat(client, [question], id);
    id = answer.id;
    history.push(question, { role: 'assistant', content: answer.answer });
  }
  return { id, history };
}

export async function conversationBench(options: {
  readonly conversations: number;
  readonly log: (line: string) => void;
}): Promise<ConversationBenchResult> {
  const { log } = options;
  const location = mkdtempSync(join(tmpdir(), 'bench-azurite-'));
  const azurite = await startAzurite({ location });
  const regions = await Promise.all([
    startSimulatorProcess({ region: 'eastus2', latency: 'none' }),
    startSimulatorProcess({ region: 'swedencentral', latency: 'none' }),
  ]);
  const backend = await startBackendProcess({
    settings: { CHAT_REGIONS: regionsSetting(regions), CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString },
  });
  try {
    const client = backendClient(backend.url);
    log(`conversations: making ${options.conversations} conversations of ${TURNS} turns`);
    const made: { id: string; history: ChatCompletionMessageParam[] }[] = [];
    for (let i = 0; i < options.conversations; i += 8) {
      const batch = Array.from({ length: Math.min(8, options.conversations - i) }, (_, k) =>
        makeConversation(client, i + k),
      );
      made.push(...(await Promise.all(batch)));
    }
    const withHistory: number[] = [];
    const inline: number[] = [];
    for (const [i, { id, history }] of made.entries()) {
      const question: ChatCompletionMessageParam = { role: 'user', content: `Conversation ${i}: and finally?` };
      // Alternate which goes first, so drift on a shared machine falls on both sides alike.
      const sides = [() => timedChat(client, [question], id), () => timedChat(client, [...history, question])];
      const [a, b] = i % 2 === 0 ? sides : [...sides].reverse();
      const first = await a!();
      const second = await b!();
      withHistory.push((i % 2 === 0 ? first : second).ms);
      inline.push((i % 2 === 0 ? second : first).ms);
    }
    const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95) });
    const result = {
      turns: TURNS,
      requests: made.length,
      conversation: stats(withHistory),
      inline: stats(inline),
      addedP50: percentile(withHistory, 50) - percentile(inline, 50),
    };
    log(
      `conversations: p50 ${result.conversation.p50.toFixed(2)} ms with a ${TURNS}-turn conversation vs ` +
        `${result.inline.p50.toFixed(2)} ms inline (added ${result.addedP50.toFixed(2)} ms)`,
    );
    return result;
  } finally {
    await backend.stop();
    await Promise.all(regions.map((r) => r.stop()));
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });
  }
}
