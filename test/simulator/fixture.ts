// Shared set-up for simulator tests: a simulator on port 0 and the official openai client pointed at it.
import OpenAI from 'openai';
import { afterEach } from 'vitest';
import { startSimulator } from '../../simulator';
import type { RunningSimulator, SimulatorOptions } from '../../simulator';

export const API_KEY = 'simulator-key';

/** A manual clock in epoch milliseconds. */
export class FakeClock {
  #ms: number;
  constructor(start = Date.UTC(2025, 6, 1, 12, 0, 0)) {
    this.#ms = start;
  }
  readonly now = (): number => this.#ms;
  advance(ms: number): void {
    this.#ms += ms;
  }
}

export async function withSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, ...options });
}

/**
 * A `start(options)` for a test file: each call starts a simulator on port 0, closed after the test.
 */
export function useSimulator(): (options?: SimulatorOptions) => Promise<RunningSimulator> {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  return async (options = {}) => {
    sim = await withSimulator(options);
    return sim;
  };
}

/** The plain OpenAI client on the v1 surface, the way the backend builds it; the SDK's own retries are off. */
export function client(sim: RunningSimulator, apiKey: string | (() => Promise<string>) = API_KEY): OpenAI {
  return new OpenAI({ baseURL: `${sim.url}/openai/v1/`, apiKey, maxRetries: 0 });
}

/** POSTs JSON to a simulator path and returns status, headers and parsed body. */
export async function post(
  sim: RunningSimulator,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string | undefined>> = { 'api-key': API_KEY },
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const response = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...definedOnly(headers) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** Splits an SSE body into the JSON (or `[DONE]`) payloads of its `data:` events. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}

export const hello = [{ role: 'user' as const, content: 'What is the capital of France?' }];

function definedOnly(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
