import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveEntryFiles } from '../../local/host/entry';
import { applySettingsToEnv, loadLocalSettings, readRoutePrefix } from '../../local/host/settings';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-host-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), content);
}

describe('loadLocalSettings', () => {
  it('returns empty settings when local.settings.json is absent', () => {
    expect(loadLocalSettings(dir)).toEqual({ values: {} });
  });

  it('reads Values as strings, the port and the CORS settings from Host', () => {
    write(
      'local.settings.json',
      JSON.stringify({
        IsEncrypted: false,
        Values: { FUNCTIONS_WORKER_RUNTIME: 'node', RETRIES: 3, FLAG: true },
        Host: { LocalHttpPort: 7075, CORS: 'http://a.example, http://b.example', CORSCredentials: true },
      }),
    );
    expect(loadLocalSettings(dir)).toEqual({
      values: { FUNCTIONS_WORKER_RUNTIME: 'node', RETRIES: '3', FLAG: 'true' },
      port: 7075,
      cors: { allowedOrigins: ['http://a.example', 'http://b.example'], supportCredentials: true },
      file: path.join(dir, 'local.settings.json'),
    });
  });

  it('names the file when it is not valid JSON', () => {
    write('local.settings.json', '{ nope');
    expect(() => loadLocalSettings(dir)).toThrow(/local\.settings\.json is not valid JSON/);
  });

  it('refuses encrypted settings with a hint', () => {
    write('local.settings.json', JSON.stringify({ IsEncrypted: true, Values: {} }));
    expect(() => loadLocalSettings(dir)).toThrow(/func settings decrypt/);
  });
});

describe('applySettingsToEnv', () => {
  it('sets only variables that are not already set', () => {
    const env: NodeJS.ProcessEnv = { KEEP: 'original' };
    expect(applySettingsToEnv({ KEEP: 'new', ADD: 'added' }, env)).toEqual(['ADD']);
    expect(env).toEqual({ KEEP: 'original', ADD: 'added' });
  });
});

describe('readRoutePrefix', () => {
  it.each([
    [undefined, 'api'],
    [{ version: '2.0' }, 'api'],
    [{ extensions: { http: { routePrefix: '' } } }, ''],
    [{ extensions: { http: { routePrefix: 'v1' } } }, 'v1'],
  ])('reads host.json %j as prefix %j', (hostJson, expected) => {
    if (hostJson) write('host.json', JSON.stringify(hostJson));
    expect(readRoutePrefix(dir)).toBe(expected);
  });
});

describe('resolveEntryFiles', () => {
  it('expands * in the last segment of package.json main, sorted', () => {
    write('package.json', JSON.stringify({ main: 'dist/functions/*.js' }));
    write('dist/functions/b.js', '');
    write('dist/functions/a.js', '');
    write('dist/functions/a.js.map', '');
    expect(resolveEntryFiles(dir)).toEqual([
      path.join(dir, 'dist/functions/a.js'),
      path.join(dir, 'dist/functions/b.js'),
    ]);
  });

  it('takes an explicit entry over package.json main', () => {
    write('app.js', '');
    expect(resolveEntryFiles(dir, 'app.js')).toEqual([path.join(dir, 'app.js')]);
  });

  it('explains a missing build when nothing matches', () => {
    write('package.json', JSON.stringify({ main: 'dist/functions/*.js' }));
    expect(() => resolveEntryFiles(dir)).toThrow(/zero files matching entry "dist\/functions\/\*\.js".*build/);
  });

  it('rejects * outside the last segment', () => {
    expect(() => resolveEntryFiles(dir, 'dist/*/index.js')).toThrow(/last path segment/);
  });
});
