import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { FALLBACK_PRINCIPAL_ID, fakeEntraToken } from '../../simulator';
import { wire } from '../wire';
import { API_KEY, client, hello, post, useSimulator } from './fixture';

const V1 = '/openai/v1/chat/completions';
const CLASSIC = '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21';
const OID = '11111111-2222-4d9e-8e70-13c98fb84e7a';

const start = useSimulator();

describe('simulator auth errors', () => {
  it.each([
    { name: 'a wrong api-key header', options: {}, path: V1, headers: { 'api-key': 'wrong' } },
    { name: 'no credentials at all', options: {}, path: V1, headers: {} },
    { name: 'a wrong key sent as bearer on v1', options: {}, path: V1, headers: { authorization: 'Bearer wrong' } },
    { name: 'a wrong key on the classic route', options: {}, path: CLASSIC, headers: { 'api-key': 'nope' } },
  ])('answers $name with the captured 401 invalid-key body', async ({ options, path, headers }) => {
    const s = await start(options);
    const response = await post(s, path, { model: 'gpt-4o', messages: hello }, headers);
    expect(response.status).toBe(401);
    expect(response.body).toEqual(wire('aoai_401_invalid_api_key').body);
  });

  it('accepts the API key as a bearer token on v1, as the plain OpenAI client sends it', async () => {
    const s = await start();
    const response = await post(s, V1, { model: 'gpt-4o', messages: hello }, { authorization: `Bearer ${API_KEY}` });
    expect(response.status).toBe(200);
  });

  it('answers a key sent as bearer on the classic route with the token-invalid body', async () => {
    const s = await start();
    const response = await post(s, CLASSIC, { messages: hello }, { authorization: `Bearer ${API_KEY}` });
    expect(response.status).toBe(401);
    expect(response.body).toEqual(wire('aoai_401_token_invalid_audience_or_expired').body);
  });

  it('accepts any Entra token in accept mode', async () => {
    const s = await start();
    const response = await post(s, CLASSIC, { messages: hello }, { authorization: `Bearer ${fakeEntraToken()}` });
    expect(response.status).toBe(200);
  });

  it('answers a token in no-role mode with 401 PermissionDenied naming the oid, the data action and the operation', async () => {
    // The issue said 403; the real capture (aoai_401_permission_denied_missing_data_action.json) is a 401.
    const s = await start({ bearer: 'no-role' });
    const response = await post(
      s,
      CLASSIC,
      { messages: hello },
      { authorization: `Bearer ${fakeEntraToken({ oid: OID })}` },
    );
    expect(response.status).toBe(401);
    const expected = wire('aoai_401_permission_denied_missing_data_action').body as { error: { message: string } };
    expect(response.body).toEqual({
      error: {
        code: 'PermissionDenied',
        message: expected.error.message.replace('XXXX-YYYY-4d9e-8e70-13c98fb84e7a', OID),
      },
    });
    expect(Buffer.byteLength(response.text)).toBe(297); // the captured Content-Length, with a 36-character GUID
  });

  it('reports a fixed principal for an opaque listed token in no-role mode', async () => {
    const s = await start({ bearer: 'no-role', acceptedBearerTokens: ['opaque-token'] });
    const response = await post(s, V1, { model: 'gpt-4o', messages: hello }, { authorization: 'Bearer opaque-token' });
    expect(response.status).toBe(401);
    expect(response.text).toContain(`The principal \`${FALLBACK_PRINCIPAL_ID}\` lacks`);
    expect(response.text).toContain('`POST /openai/v1/chat/completions` operation');
  });

  it('answers an unlisted token with the token-invalid body when acceptedBearerTokens is set', async () => {
    const s = await start({ acceptedBearerTokens: [fakeEntraToken({ oid: OID })] });
    const good = await post(
      s,
      V1,
      { model: 'gpt-4o', messages: hello },
      { authorization: `Bearer ${fakeEntraToken({ oid: OID })}` },
    );
    const bad = await post(
      s,
      V1,
      { model: 'gpt-4o', messages: hello },
      { authorization: `Bearer ${fakeEntraToken()}` },
    );
    expect(good.status).toBe(200);
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual(wire('aoai_401_token_invalid_audience_or_expired').body);
  });

  it.each([
    { name: 'api-key header', headers: { 'api-key': API_KEY } },
    { name: 'key as bearer', headers: { authorization: `Bearer ${API_KEY}` } },
  ])(
    'answers an API key ($name) with 403 AuthenticationTypeDisabled when local auth is disabled',
    async ({ headers }) => {
      const s = await start({ localAuthDisabled: true });
      const response = await post(s, V1, { model: 'gpt-4o', messages: hello }, headers);
      expect(response.status).toBe(403);
      expect(response.body).toEqual(wire('aoai_403_authentication_type_disabled').body);
    },
  );

  it('still accepts tokens when local auth is disabled', async () => {
    const s = await start({ localAuthDisabled: true });
    const response = await post(
      s,
      V1,
      { model: 'gpt-4o', messages: hello },
      { authorization: `Bearer ${fakeEntraToken()}` },
    );
    expect(response.status).toBe(200);
  });
});

describe('simulator request errors', () => {
  it.each([
    { name: 'an unknown deployment on v1', path: V1, body: { model: 'gpt-5', messages: hello } },
    {
      name: 'an unknown deployment on the classic route',
      path: '/openai/deployments/gpt-5/chat/completions?api-version=2024-10-21',
      body: { messages: hello },
    },
  ])('answers $name with the byte-exact DeploymentNotFound capture', async ({ path, body }) => {
    const s = await start();
    const response = await post(s, path, body);
    expect(response.status).toBe(404);
    expect(response.body).toEqual(wire('aoai_404_deployment_not_found').body);
    expect(Buffer.byteLength(response.text)).toBe(198);
  });

  it.each([
    { name: 'a body that is not JSON', body: '{"model":', param: null, code: null },
    {
      name: 'a body without messages',
      body: { model: 'gpt-4o' },
      param: 'messages',
      code: 'missing_required_parameter',
    },
    {
      name: 'an empty messages array',
      body: { model: 'gpt-4o', messages: [] },
      param: 'messages',
      code: 'empty_array',
    },
    {
      name: 'a message without role',
      body: { model: 'gpt-4o', messages: [{ content: 'x' }] },
      param: 'messages[0].role',
      code: 'missing_required_parameter',
    },
    {
      name: 'a max_tokens of 0',
      body: { model: 'gpt-4o', messages: hello, max_tokens: 0 },
      param: 'max_tokens',
      code: 'invalid_value',
    },
  ])('answers $name with 400 invalid_request_error', async ({ body, param, code }) => {
    const s = await start();
    const response = await post(s, V1, body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code },
    });
  });

  it('answers a prompt longer than the context window with context_length_exceeded', async () => {
    const s = await start({ contextWindow: 50 });
    const response = await post(s, V1, { model: 'gpt-4o', messages: [{ role: 'user', content: 'word '.repeat(100) }] });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: {
        message: expect.stringMatching(
          /^This model's maximum context length is 50 tokens\. However, your messages resulted in \d+ tokens\. Please reduce the length of the messages\.$/,
        ),
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    });
  });

  it('counts max_tokens against the context window with the completion variant of the message', async () => {
    const s = await start({ contextWindow: 100 });
    const response = await post(s, V1, { model: 'gpt-4o', messages: hello, max_tokens: 95 });
    expect(response.status).toBe(400);
    expect(response.text).toMatch(/However, you requested \d+ tokens \(\d+ in the messages, 95 in the completion\)/);
  });

  it('answers the prompt filter trigger with the captured 400 content_filter body', async () => {
    const s = await start();
    const response = await post(s, V1, {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi [[filter-prompt]]' }],
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(wire('aoai_400_content_filter_prompt_with_headers').body);
    expect(Buffer.byteLength(response.text)).toBe(612); // the captured Content-Length
    expect(response.headers.get('x-ms-deployment-name')).toBe('gpt-4o');
    expect(response.headers.get('x-ratelimit-remaining-requests')).not.toBeNull();
  });

  it('cuts a non-streamed answer with finish_reason content_filter on the output trigger', async () => {
    const s = await start();
    const messages = [{ role: 'user' as const, content: 'sing [[filter-output]]' }];
    const completion = await client(s).chat.completions.create({ model: 'gpt-4o', messages });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('content_filter');
    expect(choice).toHaveProperty('content_filter_results.protected_material_text', { filtered: true, detected: true });
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeLessThan(40);
  });

  it('ends a streamed answer with the async filter verdict event on the output trigger', async () => {
    const s = await start();
    const stream = await client(s).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'sing [[filter-output]]' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const verdict = chunks.at(-1);
    expect(verdict?.id).toBe('');
    expect(verdict?.choices[0]).toMatchObject({
      finish_reason: 'content_filter',
      content_filter_results: { protected_material_text: { detected: true, filtered: true } },
    });
    const streamed = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    expect(verdict?.choices[0]).toHaveProperty('content_filter_offsets.check_offset', streamed.length);
  });

  it('uses configured trigger phrases', async () => {
    const s = await start({ filterPromptTrigger: 'BLOCK-ME' });
    const blocked = await post(s, V1, { model: 'gpt-4o', messages: [{ role: 'user', content: 'please BLOCK-ME' }] });
    const allowed = await post(s, V1, { model: 'gpt-4o', messages: [{ role: 'user', content: '[[filter-prompt]]' }] });
    expect(blocked.status).toBe(400);
    expect(allowed.status).toBe(200);
  });
});

describe('simulator errors through the openai client', () => {
  it.each([
    {
      name: 'a wrong key',
      options: {},
      apiKey: 'wrong',
      model: 'gpt-4o',
      content: 'hi',
      error: OpenAI.AuthenticationError,
    },
    {
      name: 'a token without role',
      options: { bearer: 'no-role' as const },
      apiKey: fakeEntraToken(),
      model: 'gpt-4o',
      content: 'hi',
      error: OpenAI.AuthenticationError,
    },
    {
      name: 'local auth disabled',
      options: { localAuthDisabled: true },
      apiKey: API_KEY,
      model: 'gpt-4o',
      content: 'hi',
      error: OpenAI.PermissionDeniedError,
    },
    {
      name: 'an unknown deployment',
      options: {},
      apiKey: API_KEY,
      model: 'nope',
      content: 'hi',
      error: OpenAI.NotFoundError,
    },
    {
      name: 'a filtered prompt',
      options: {},
      apiKey: API_KEY,
      model: 'gpt-4o',
      content: '[[filter-prompt]]',
      error: OpenAI.BadRequestError,
    },
    {
      name: 'a too long prompt',
      options: { contextWindow: 5 },
      apiKey: API_KEY,
      model: 'gpt-4o',
      content: 'hi there',
      error: OpenAI.BadRequestError,
    },
    {
      name: 'a throttled deployment',
      options: { fault: { kind: 'throttle' as const } },
      apiKey: API_KEY,
      model: 'gpt-4o',
      content: 'hi',
      error: OpenAI.RateLimitError,
    },
    {
      name: 'a server error',
      options: { fault: { kind: 'error500' as const } },
      apiKey: API_KEY,
      model: 'gpt-4o',
      content: 'hi',
      error: OpenAI.InternalServerError,
    },
  ])('makes the SDK raise the matching error class for $name', async ({ options, apiKey, model, content, error }) => {
    const s = await start(options);
    await expect(
      client(s, apiKey).chat.completions.create({ model, messages: [{ role: 'user', content }] }),
    ).rejects.toBeInstanceOf(error);
  });

  it('exposes the Azure error code on the SDK error', async () => {
    const s = await start();
    const failure = await client(s)
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: '[[filter-prompt]]' }] })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('content_filter');
  });
});
