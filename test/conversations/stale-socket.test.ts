/**
 * A chat does not lose its history to a kept-alive socket the store had just closed: the conversation
 * service on the real @azure/data-tables client, through a loopback relay to Azurite that resets the
 * connection of the next request once (what a client meets when it reuses a socket the server closed).
 */
import { createServer, Socket, type Server } from 'node:net';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newConversationId } from '../../shared/conversations';
import { useAzurite } from '../stand-ins/azurite';
import { conversations, newUser } from './conversations';

const azurite = useAzurite();
let relay: Server;
let resetNext = false;

beforeAll(async () => {
  relay = createServer((client) => {
    const upstream = new Socket().connect(azurite.port, '127.0.0.1');
    upstream.pipe(client);
    // Every request's bytes go through here, so a kept-alive connection is reset at its next request too.
    client.on('data', (chunk) => {
      if (!resetNext) return void upstream.write(chunk);
      resetNext = false;
      upstream.destroy();
      client.resetAndDestroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));

const user = (text: string): ChatCompletionMessageParam => ({ role: 'user', content: text });

describe('a store connection reset before it answered', () => {
  it('is read again, so the next turn still gets its history and is stored', async () => {
    const port = (relay.address() as { port: number }).port;
    const service = conversations(azurite.connectionString.replace(`:${azurite.port}/`, `:${port}/`));
    const alice = newUser();
    const id = newConversationId();
    const first = await service.begin({
      caller: alice,
      conversation: { kind: 'start', id },
      messages: [user('hi')],
      logger: service.log,
    });
    await first.finish({ text: 'hello', outcome: 'completed' });
    resetNext = true;
    const next = await service.begin({
      caller: alice,
      conversation: { kind: 'continue', id },
      messages: [user('again')],
      logger: service.log,
    });
    expect(resetNext).toBe(false);
    expect(next.outcome()).toMatchObject({ state: 'stored', id, turn: 1 });
    expect(next.messages).toEqual([user('hi'), { role: 'assistant', content: 'hello' }, user('again')]);
  });
});
