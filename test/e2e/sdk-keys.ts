/**
 * A service key where each client puts it, through the whole backend on the local host: the official openai
 * client sends its apiKey as `Authorization: Bearer`, `AzureOpenAI` as `api-key`, others send
 * `x-functions-key` or `?code=`. With sign-in on (users and service callers) and with keys only
 * (CHAT_SERVICE_KEYS set): in both the chat routes are anonymous for the host, as in Azure, where the
 * host's own key check reads only x-functions-key and ?code= and would refuse an SDK's key.
 */
import OpenAI, { AuthenticationError, AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_KEY, type Backend } from './backend';

/** The suite, against a backend `start` brings up (one per test file). */
export function describeSdkKeys(
  name: string,
  start: () => Promise<{ backend: Backend; close(): Promise<void> }>,
): void {
  describe(`keys where SDKs put them, with ${name}`, () => {
    let backend: Backend;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ backend, close } = await start());
    });
    afterAll(() => close());

    const messages = [{ role: 'user' as const, content: 'Hello' }];
    const openai = (apiKey: string, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
      new OpenAI({ baseURL: `${backend.host.url}/api/v1/`, apiKey, maxRetries: 0, ...extra });

    it('registers the chat routes as anonymous for the host: the app checks keys wherever they are', () => {
      const chatRoutes = backend.host.functions.filter((f) => f.route.startsWith('/api/v1'));
      expect(chatRoutes.map((f) => f.authLevel)).toEqual(chatRoutes.map(() => 'anonymous'));
    });

    it('answers the openai client with the key as its apiKey (Authorization: Bearer)', async () => {
      const completion = await openai(FUNCTION_KEY).chat.completions.create({ model: 'gpt-4o', messages });
      expect(completion.choices[0]?.message.content).toEqual(expect.any(String));
      const response = await openai(FUNCTION_KEY).responses.create({ model: 'gpt-4o', input: 'Hello' });
      expect(response.output_text).toEqual(expect.any(String));
    });

    it('answers the AzureOpenAI client, which sends its key as api-key', async () => {
      const azure = new AzureOpenAI({
        baseURL: `${backend.host.url}/api/v1/`,
        apiKey: FUNCTION_KEY,
        apiVersion: 'preview',
        maxRetries: 0,
      });
      const models = await azure.models.list();
      expect(models.data.map((m) => m.id)).toContain('gpt-4o');
    });

    it('answers a valid x-functions-key next to a bearer that is not a JWT, and ?code=', async () => {
      const byHeader = openai('unused', { defaultHeaders: { 'x-functions-key': FUNCTION_KEY } });
      expect((await byHeader.models.list()).data.length).toBeGreaterThan(0);
      const byQuery = openai('unused', { defaultQuery: { code: FUNCTION_KEY } });
      expect((await byQuery.models.list()).data.length).toBeGreaterThan(0);
    });

    it.each([
      ['as the apiKey', (key: string) => ({ apiKey: key }), /Authorization header/],
      ['in api-key', (key: string) => ({ apiKey: 'x', defaultHeaders: { 'api-key': key } }), /api-key header/],
      [
        'in x-functions-key',
        (key: string) => ({ apiKey: 'x', defaultHeaders: { 'x-functions-key': key } }),
        /x-functions-key/,
      ],
    ] as const)(
      'says a wrong key %s was wrong, in the one error body, without echoing it',
      async (_how, place, where) => {
        const secret = 'wrong-key-4711';
        const { apiKey, ...extra } = place(secret);
        const error = await openai(apiKey, extra)
          .chat.completions.create({ model: 'gpt-4o', messages })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AuthenticationError);
        const { status, error: body } = error as AuthenticationError;
        expect(status).toBe(401);
        expect(body).toMatchObject({ code: 'unauthorized', requestId: expect.any(String) });
        const message = (body as { message: string }).message;
        expect(message).toMatch(/^Wrong key/);
        expect(message).toMatch(where);
        expect(JSON.stringify(body)).not.toContain(secret);
      },
    );

    it('says nothing came when nothing came', async () => {
      const response = await fetch(`${backend.host.url}/api/v1/models`);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(/^(No credentials|A key is required)/);
    });
  });
}
