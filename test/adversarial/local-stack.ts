/**
 * The real local stack an attacker meets under `npm start`, one per test file: two simulated regions, the local
 * host loading the real function files, the local sign-in provider (any user name gets a token, as on a
 * developer's laptop) and Azurite as the quota and conversation store. Every line the host and the app log is
 * kept, so a test can read what an attack left in the logs.
 */
import { afterAll, beforeAll } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider, type TokenRequestExtras } from '../../local/identity';
import type { LocalHostLogger } from '../../local/host';
import { startBackend, FUNCTION_KEY, type Backend, type BackendOptions } from '../e2e/backend';
import { useAzurite } from '../stand-ins/azurite';

export { FUNCTION_KEY };

export interface LocalStack {
  readonly backend: Backend;
  readonly identity: RunningIdentityProvider;
  /** `http://127.0.0.1:<port>/api` */
  readonly api: string;
  /** Every log line so far (the host's and the app's, in order). */
  readonly logs: readonly string[];
  /** An access token of the local provider for `user`. */
  token(user: string, extras?: TokenRequestExtras): Promise<string>;
  /** `Authorization: Bearer <token of user>`. */
  signedIn(user: string, extras?: TokenRequestExtras): Promise<Record<string, string>>;
}

/** Starts the stack before the file's tests and stops it after them; `settings` are app settings over the defaults. */
export function useLocalStack(settings: Record<string, string> = {}, options: BackendOptions = {}): LocalStack {
  const azurite = useAzurite();
  const logs: string[] = [];
  const keep = (message: string) => void logs.push(message);
  const logger: LocalHostLogger = { info: keep, warn: keep, error: keep, debug: keep };
  let backend: Backend | undefined;
  let identity: RunningIdentityProvider | undefined;
  beforeAll(async () => {
    identity = await startIdentityProvider({ port: 0 });
    backend = await startBackend(
      {
        ...identity.backendSettings(),
        CHAT_AUTH_CALLERS: 'users,service',
        CHAT_SERVICE_KEYS: FUNCTION_KEY,
        CHAT_STORAGE_CONNECTION_STRING: azurite.connectionString,
        ...settings,
      },
      { logger, ...options },
    );
  }, 30_000);
  afterAll(async () => {
    await backend?.close();
    await identity?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the local stack is not started (use it inside a test)');
    return value;
  };
  return {
    get backend() {
      return started(backend);
    },
    get identity() {
      return started(identity);
    },
    get api() {
      return `${started(backend).host.url}/api`;
    },
    logs,
    token: (user, extras) => started(identity).token(user, extras),
    async signedIn(user, extras) {
      return { authorization: `Bearer ${await started(identity).token(user, extras)}` };
    },
  };
}
