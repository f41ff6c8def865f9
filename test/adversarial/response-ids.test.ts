/**
 * Attack: get another user's raw response id signed for yourself. The Responses API repeats parts of the request
 * in its answer (`text.format` with its JSON schema); a backend that signs every string under `id` anywhere in
 * the answer signs whatever the caller wrote there. Mallory, holding Alice's raw id (the part before the first
 * `~`, say from a shared screenshot), puts it in a schema, gets it back signed for herself, and continues Alice's
 * thread with it. Only the ids the API issues, where the API puts them, may be signed.
 */
import OpenAI, { NotFoundError } from 'openai';
import { describe, expect, it } from 'vitest';
import { useLocalStack } from './local-stack';

const stack = useLocalStack();

async function clientFor(user: string): Promise<OpenAI> {
  return new OpenAI({ baseURL: `${stack.api}/v1/`, apiKey: await stack.token(user), maxRetries: 0 });
}

/** A JSON schema format whose schema carries `raw` under `id`, as an attacker writes it. */
function formatCarrying(raw: string) {
  return {
    format: {
      type: 'json_schema' as const,
      name: 'answer',
      schema: { id: raw, type: 'object', properties: { id: { type: 'string', const: raw } } },
    },
  };
}

describe('a raw response id smuggled through text.format', () => {
  it('comes back untouched in a whole answer, and continuing with it is refused as not found', async () => {
    const alice = await clientFor('alice-ids');
    const secret = await alice.responses.create({ model: 'gpt-4o', input: 'My bank PIN is 4711' });
    const raw = secret.id.split('~')[0] ?? '';
    expect(raw).toMatch(/^resp_/);

    const mallory = await clientFor('mallory-ids');
    const echoed = await mallory.responses.create({ model: 'gpt-4o', input: 'Hi', text: formatCarrying(raw) });
    const schema = (echoed.text?.format as { schema?: { id?: string } } | undefined)?.schema;
    expect(schema?.id).toBe(raw);
    const error = await mallory.responses
      .create({ model: 'gpt-4o', input: 'What was my PIN?', previous_response_id: schema?.id ?? raw })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    // The API's own ids are still signed, and still continue Mallory's own thread.
    expect(echoed.id).toMatch(/^resp_\w+~[\w-]{22}~eastus2$/);
    expect(echoed.output[0]?.id).toMatch(/^msg_\w+~[\w-]{22}~eastus2$/);
    const followUp = await mallory.responses.create({
      model: 'gpt-4o',
      input: 'More',
      previous_response_id: echoed.id,
    });
    expect(followUp.status).toBe('completed');
  });

  it('comes back untouched in every streamed event', async () => {
    const alice = await clientFor('alice-ids-stream');
    const raw = (await alice.responses.create({ model: 'gpt-4o', input: 'Secret plans' })).id.split('~')[0] ?? '';
    const mallory = await clientFor('mallory-ids-stream');
    const events = [];
    for await (const event of await mallory.responses.create({
      model: 'gpt-4o',
      input: 'Hi',
      text: formatCarrying(raw),
      stream: true,
    })) {
      events.push(event);
    }
    const text = JSON.stringify(events);
    expect(text).toContain(`"id":"${raw}"`);
    expect(text).not.toContain(`${raw}~`);
  });
});
