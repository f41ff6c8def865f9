/**
 * The official openai client, with its default retries (2), sends a request once when no retry can help:
 * the backend says `x-should-retry: false` on a 409 `previous_response_unavailable`, on a 502 that only the
 * operator can fix, and on every 4xx. Without it the client retries 409 and every 5xx twice for nothing.
 */
import { APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { startBackend, type Backend } from './backend';

let backend: Backend;
let primary: RunningSimulator;
let secondary: RunningSimulator;
beforeAll(async () => {
  // gpt-4o-mini names a deployment neither region has: Azure's 404 DeploymentNotFound, our 502.
  const deployments = { 'gpt-4o': 'gpt-4o', 'gpt-4o-mini': 'no-such-deployment' };
  primary = await startSimulator({ port: 0, region: 'eastus2' });
  secondary = await startSimulator({ port: 0, region: 'swedencentral' });
  backend = await startBackend({
    CHAT_BREAKER_FAILURES: '100',
    CHAT_REGIONS: JSON.stringify([
      { name: 'eastus2', endpoint: `${primary.url}/`, deployments },
      { name: 'swedencentral', endpoint: `${secondary.url}/`, deployments },
    ]),
  });
});
afterEach(() => {
  primary.setFault({ kind: 'none' });
});
afterAll(async () => {
  await backend.close();
  await Promise.all([primary.close(), secondary.close()]);
});

async function failedOnce(call: (client: Backend['openai']) => Promise<unknown>): Promise<APIError> {
  const { client, requests } = backend.countingClient();
  const error = await call(client).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(APIError);
  expect((error as APIError).headers?.get('x-should-retry')).toBe('false');
  expect(requests()).toBe(1);
  return error as APIError;
}

describe('x-should-retry: false where a retry cannot help', () => {
  it('sends a follow-up once when the region that stored the previous response is out (409)', async () => {
    const first = await backend.openai.responses.create({ model: 'gpt-4o', input: 'Hello' });
    primary.setFault({ kind: 'outage' });
    const error = await failedOnce((client) =>
      client.responses.create({ model: 'gpt-4o', input: 'And then?', previous_response_id: first.id }),
    );
    expect(error.status).toBe(409);
    expect(error.error).toMatchObject({ code: 'previous_response_unavailable' });
  });

  it('sends a chat once when the deployment does not exist (502, the operator must fix it)', async () => {
    const error = await failedOnce((client) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ code: 'deployment_not_found' });
  });

  it('says false on a 4xx too (an unknown model)', async () => {
    const error = await failedOnce((client) =>
      client.chat.completions.create({ model: 'gpt-5-unknown', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error.status).toBe(400);
  });
});
