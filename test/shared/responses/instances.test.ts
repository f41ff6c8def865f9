/**
 * Response ids across instances of the app: with one CHAT_RESPONSE_ID_SECRET every instance reads the ids
 * another gave out; without it each process signs with a secret of its own, so a follow-up that reaches
 * another instance (or the same one after a restart) is answered as a response that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatService } from '../../../shared/chat-service';
import { ChatError } from '../../../shared/errors';
import { startTwoRegions, type TwoRegions } from '../two-regions';

const alice = { kind: 'user', id: 'tenant:alice' } as const;
const secret = { CHAT_RESPONSE_ID_SECRET: 'one-secret-for-every-instance-of-this-app' };

let regions: TwoRegions;
beforeAll(async () => {
  regions = await startTwoRegions();
});
afterAll(async () => {
  await regions.close();
});

async function followUp(from: ChatService, to: ChatService) {
  const first = await from.respond({ params: { input: 'Hello' }, requestId: 'r-1', caller: alice });
  const params = { input: 'And then?', previous_response_id: first.response.id };
  return to.respond({ params, requestId: 'r-2', caller: alice });
}

describe('response ids across instances', () => {
  it('are read by every instance that has the same CHAT_RESPONSE_ID_SECRET', async () => {
    const answer = await followUp(regions.service(secret), regions.service(secret));
    expect(answer.response.status).toBe('completed');
  });

  it("are another process's without the setting: previous_response_not_found (404) on another instance", async () => {
    const error = await followUp(regions.service(), regions.service()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: 'previous_response_not_found', status: 404, requestId: 'r-2' });
  });
});
