/**
 * The local stack an attacker of the quota meets: the backend as `npm start` runs it (two simulated regions, the
 * local host, sign-in through the local OpenID Connect provider) on an Azurite of the test file's own, and a look
 * at the quota table as the backend wrote it. Signed-in users are ordinary accounts, as in the attacks.
 */
import { afterAll, beforeAll } from 'vitest';
import { startIdentityProvider } from '../../local/identity';
import { escapeKey } from '../../shared/quota';
import { FUNCTION_KEY, startBackend, type BackendOptions, type SignedInBackend } from '../e2e/backend';
import { useAzurite, type AzuriteFixture } from '../stand-ins/azurite';

export interface QuotaStack {
  readonly azurite: AzuriteFixture;
  readonly stack: SignedInBackend;
  /** The API base, `http://127.0.0.1:PORT/api`. */
  readonly api: string;
  /** A signed-in user's access token (a new name is a new user). */
  token(user: string): Promise<string>;
  /** The tokens counted (used or reserved) for the user's day in the quota table, 0 when there is no row. */
  dayTokens(token: string): Promise<number>;
}

/**
 * Starts the stack in beforeAll with `settings` on top of the signed-in backend's (a function: read then, after
 * the file's earlier beforeAll hooks), and stops it in afterAll.
 */
export function useQuotaStack(
  settings: Record<string, string> | (() => Record<string, string>),
  options: BackendOptions = {},
): QuotaStack {
  const azurite = useAzurite();
  let stack: SignedInBackend | undefined;
  beforeAll(async () => {
    const extra = typeof settings === 'function' ? settings() : settings;
    const identity = await startIdentityProvider({ port: 0 });
    const backend = await startBackend(
      {
        ...identity.backendSettings(),
        CHAT_AUTH_CALLERS: 'users,service',
        CHAT_SERVICE_KEYS: FUNCTION_KEY,
        CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
        // The quota is under test: one user's burst is not cut short by the per-caller limit of requests in flight.
        CHAT_CALLER_MAX_IN_FLIGHT: '0',
        ...extra,
      },
      options,
    );
    stack = {
      backend,
      identity,
      async close() {
        await backend.close();
        await identity.close();
      },
    };
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });
  const started = () => {
    if (!stack) throw new Error('the stack has not started');
    return stack;
  };
  return {
    azurite,
    get stack() {
      return started();
    },
    get api() {
      return `${started().backend.host.url}/api`;
    },
    token: (user) => started().identity.token(user),
    async dayTokens(token) {
      const { TableClient } = await import('@azure/data-tables');
      const client = TableClient.fromConnectionString(azurite.connectionString, 'quotas', {
        allowInsecureConnection: true,
      });
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
        tid: string;
        oid: string;
      };
      try {
        const row = await client.getEntity<{ window: string; value: unknown }>(
          `user:${escapeKey(`${claims.tid}:${claims.oid}`)}`,
          'tokens-per-day',
        );
        return row.window === new Date().toISOString().slice(0, 10) ? Number(row.value) : 0;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return 0;
        throw error;
      }
    },
  };
}

/** A chat request's answer: status, error code and the answer's usage. */
export interface Outcome {
  readonly status: number;
  readonly code?: string;
  readonly totalTokens?: number;
}

/** POST /api/chat as `token`, the whole answer. */
export async function chat(api: string, token: string, body: unknown): Promise<Outcome> {
  const response = await fetch(`${api}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as {
    error?: { code: string };
    context?: { usage?: { total_tokens?: number; totalTokens?: number } };
  };
  const usage = json.context?.usage;
  return {
    status: response.status,
    ...(json.error ? { code: json.error.code } : {}),
    ...(usage ? { totalTokens: usage.total_tokens ?? usage.totalTokens ?? 0 } : {}),
  };
}
