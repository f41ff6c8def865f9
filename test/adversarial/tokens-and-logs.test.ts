/**
 * Attacks with what a caller controls: the text of a path, the Authorization header, and the claims of a token the
 * local sign-in provider signs for anyone (as a misconfigured or compromised issuer would). Each is replayed against
 * the local stack; what the backend must do is in each test's name.
 */
import { describe, expect, it } from 'vitest';
import { useLocalStack } from './local-stack';

// Diagnostics on, as under `npm start`: error bodies carry the operator's diagnosis, so a leak would show there too.
const stack = useLocalStack({ CHAT_EXPOSE_DIAGNOSTICS: 'true' });

const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] });

async function chat(headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${stack.api}/chat`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: chatBody,
  });
  return { status: response.status, text: await response.text() };
}

const seconds = () => Math.floor(Date.now() / 1000);

describe('log forging', () => {
  it('writes a newline in a path as \\n: the request is one log line, and no line starts with the forged text', async () => {
    const forged = 'FORGED 200 ok: admin signed in';
    const path = `/conversations/${encodeURIComponent(`x\n${forged}\r\n${forged}`)}`;
    const response = await fetch(`${stack.api}${path}`, { headers: await stack.signedIn('mallory-logs') });
    expect(response.status).toBe(404);
    const lines = stack.logs.flatMap((entry) => entry.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/));
    expect(lines.filter((line) => line.startsWith(forged))).toEqual([]);
    expect(stack.logs.some((entry) => entry.includes(`x\\n${forged}\\r\\n`))).toBe(true);
  });
});

describe('credentials in logs and answers', () => {
  it.each([
    ['a bare token (no scheme)', (token: string) => token],
    ['a token in the place of the scheme', (token: string) => `${token} please`],
  ])('repeats no part of %s in the answer or the logs', async (_what, header) => {
    const token = await stack.token('mallory-bare');
    const before = stack.logs.length;
    const answer = await chat({ authorization: header(token) });
    expect(answer.status).toBe(401);
    const secret = token.slice(0, 20);
    expect(answer.text).not.toContain(secret);
    expect(stack.logs.slice(before).join('\n')).not.toContain(token.slice(0, 12));
  });
});

describe('tokens with claims the backend must not believe', () => {
  it('answers 401 to an oid of 300 characters (a caller id too long for a storage key), not 500', async () => {
    const answer = await chat(await stack.signedIn('mallory-oid', { claims: { oid: 'a'.repeat(300) } }));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('answers 401 to a token valid for 100 years', async () => {
    const exp = seconds() + 100 * 365 * 86_400;
    const answer = await chat(await stack.signedIn('mallory-forever', { claims: { exp } }));
    expect(answer.status).toBe(401);
  });

  it('answers 401 to a token whose tid is not the tenant of its issuer', async () => {
    const tid = '11111111-2222-3333-4444-555555555555';
    const answer = await chat(await stack.signedIn('mallory-tenant', { claims: { tid } }));
    expect(answer.status).toBe(401);
  });

  it('treats an app-only token carrying scp as an app: without the app role, 403 (a user with the scope: 200)', async () => {
    const token = await stack.identity.appToken('mallory-daemon', { roles: [], claims: { scp: 'chat' } });
    const answer = await chat({ authorization: `Bearer ${token}` });
    expect(answer.status).toBe(403);
    expect((await chat(await stack.signedIn('alice-tokens'))).status).toBe(200);
  });
});
