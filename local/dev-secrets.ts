/**
 * What `npm start` keeps across restarts besides Azurite's data, so a restart is invisible to a page or client
 * that stays open: the local sign-in provider's signing keys (a token signed before the restart still verifies)
 * and the secret that signs Responses API ids (a `previous_response_id` or `item_reference` given out before
 * the restart is still honoured). They live in `.local-secrets/` in the repository (gitignored, readable by the
 * owner only), only for `npm start`: a setting that is configured (`CHAT_RESPONSE_ID_SECRET`, or a real tenant
 * through `CHAT_AUTH_AUDIENCE`) is used as it is, and nothing in Azure reads or writes this folder.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The folder, relative to the repository root. */
export const DEV_SECRETS_DIR = '.local-secrets';

/** Paths of the files kept in `<repoRoot>/.local-secrets/`. */
export function devSecretPaths(repoRoot: string): { readonly identityKeys: string; readonly responseIdSecret: string } {
  const dir = join(repoRoot, DEV_SECRETS_DIR);
  return { identityKeys: join(dir, 'identity-keys.json'), responseIdSecret: join(dir, 'response-id-secret') };
}

/**
 * The response-id secret kept in `file`, made (32 random bytes, base64url: 43 characters) and saved on first use.
 * A file that holds less than the 32 characters the app requires is replaced.
 */
export function persistentResponseIdSecret(file: string): string {
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${secret}\n`);
  return secret;
}

/** Writes a file only its owner can read, creating its folder (also owner-only) when missing. */
export function writePrivateFile(file: string, text: string): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
  // writeFileSync's mode applies only to a new file.
  chmodSync(file, 0o600);
}
