/** Two simulated regions and a ChatService over them, the way production wires it, with a manual health clock. */
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator';
import { ChatService, type ChatServiceOptions } from '../../shared/chat-service';
import { loadConfig } from '../../shared/config';
import { createCredentials } from '../../shared/credentials';

export class ManualClock {
  #ms = Date.UTC(2026, 10, 25, 12, 0, 0);
  readonly now = (): number => this.#ms;
  advance(ms: number): void {
    this.#ms += ms;
  }
}

export interface TwoRegions {
  readonly primary: RunningSimulator;
  readonly secondary: RunningSimulator;
  readonly clock: ManualClock;
  readonly sleeps: number[];
  service(settings?: Record<string, string>, options?: Partial<ChatServiceOptions>): ChatService;
  close(): Promise<void>;
}

export function regionsSetting(primary: { url: string }, secondary: { url: string }): string {
  return JSON.stringify([
    { name: 'eastus2', endpoint: `${primary.url}/`, deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' } },
    {
      name: 'swedencentral',
      endpoint: `${secondary.url}/`,
      deployments: { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'gpt-4o-mini' },
    },
  ]);
}

export async function startTwoRegions(
  options: { primary?: SimulatorOptions; secondary?: SimulatorOptions } = {},
): Promise<TwoRegions> {
  const primary = await startSimulator({ port: 0, region: 'eastus2', ...options.primary });
  const secondary = await startSimulator({ port: 0, region: 'swedencentral', ...options.secondary });
  const clock = new ManualClock();
  const sleeps: number[] = [];
  return {
    primary,
    secondary,
    clock,
    sleeps,
    service(settings = {}, serviceOptions = {}) {
      const config = loadConfig({
        CHAT_REGIONS: regionsSetting(primary, secondary),
        AZURE_OPENAI_API_KEY: 'simulator-key',
        CHAT_BREAKER_FAILURES: '2',
        CHAT_BREAKER_COOLDOWN_MS: '30000',
        ...settings,
      });
      return new ChatService({
        config,
        credentials: createCredentials(config),
        now: clock.now,
        // Waiting for a throttled region moves the manual clock instead of sleeping.
        sleep: (ms) => {
          sleeps.push(ms);
          clock.advance(ms);
          return Promise.resolve();
        },
        ...serviceOptions,
      });
    },
    async close() {
      await Promise.all([primary.close(), secondary.close()]);
    },
  };
}

export const hello = { messages: [{ role: 'user' as const, content: 'Hello there' }] };

export async function collect(
  chunks: AsyncIterable<{ choices: { delta: { content?: string | null } }[] }>,
): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}
