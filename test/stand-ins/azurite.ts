/**
 * One Azurite table service per test file: started in beforeAll on a free port and a temporary data
 * folder, stopped (and the folder removed) in afterAll. `stop()` and `restart()` let a test take the
 * store away mid-run and bring it back on the same port and folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startAzurite, type Azurite } from '../../local/azurite';

export interface AzuriteFixture {
  readonly connectionString: string;
  readonly port: number;
  readonly location: string;
  /** Stops Azurite; its data stays in `location`. */
  stop(): Promise<void>;
  /** Starts Azurite again on the same port and folder. */
  restart(): Promise<void>;
}

export function useAzurite(): AzuriteFixture {
  let azurite: Azurite | undefined;
  let location = '';
  let port = 0;
  let connectionString = '';
  beforeAll(async () => {
    location = mkdtempSync(join(tmpdir(), 'azurite-test-'));
    azurite = await startAzurite({ location });
    port = azurite.port;
    connectionString = azurite.connectionString;
  }, 30_000);
  afterAll(async () => {
    await azurite?.stop();
    azurite = undefined;
    if (location) rmSync(location, { recursive: true, force: true });
  });
  return {
    /** The same across stop and restart (same port). */
    get connectionString() {
      return connectionString;
    },
    get port() {
      return port;
    },
    get location() {
      return location;
    },
    async stop() {
      await azurite?.stop();
      azurite = undefined;
    },
    async restart() {
      await azurite?.stop();
      azurite = await startAzurite({ location, port });
    },
  };
}
