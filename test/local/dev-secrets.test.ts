import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { devSecretPaths, persistentResponseIdSecret } from '../../local/dev-secrets';

let root = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'dev-secrets-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('persistentResponseIdSecret', () => {
  it('makes a 32-byte secret once, in an owner-only file under .local-secrets/, and gives it back after', () => {
    const file = devSecretPaths(root).responseIdSecret;
    expect(file).toBe(join(root, '.local-secrets', 'response-id-secret'));
    const secret = persistentResponseIdSecret(file);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, '.local-secrets')).mode & 0o077).toBe(0);
    expect(persistentResponseIdSecret(file)).toBe(secret);
  });

  it('replaces a kept secret shorter than the 32 characters the app requires', () => {
    const file = devSecretPaths(root).responseIdSecret;
    persistentResponseIdSecret(file);
    writeFileSync(file, 'short\n');
    const secret = persistentResponseIdSecret(file);
    expect(secret).toHaveLength(43);
    expect(readFileSync(file, 'utf8').trim()).toBe(secret);
  });
});

describe('.local-secrets/', () => {
  it('is gitignored', () => {
    expect(readFileSync(join(__dirname, '..', '..', '.gitignore'), 'utf8').split('\n')).toContain('.local-secrets/');
  });
});
