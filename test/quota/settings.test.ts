import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config';
import { quotaSettings } from '../../shared/quota/settings';

describe('quotaSettings', () => {
  it('has defaults: 20 requests a minute, 200 000 tokens a day, no global ceiling, no store', () => {
    expect(quotaSettings({})).toEqual({
      userRequestsPerMinute: 20,
      userTokensPerDay: 200_000,
      globalTokensPerMinute: 0,
      store: { kind: 'none' },
      table: 'quotas',
    });
  });

  it('reads the limits, 0 meaning no limit', () => {
    const settings = quotaSettings({
      CHAT_USER_REQUESTS_PER_MINUTE: '5',
      CHAT_USER_TOKENS_PER_DAY: '0',
      CHAT_GLOBAL_TOKENS_PER_MINUTE: ' 90000 ',
    });
    expect(settings).toMatchObject({ userRequestsPerMinute: 5, userTokensPerDay: 0, globalTokensPerMinute: 90_000 });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it.each([
    ['CHAT_USER_REQUESTS_PER_MINUTE', '-1'],
    ['CHAT_USER_REQUESTS_PER_MINUTE', '2.5'],
    ['CHAT_USER_TOKENS_PER_DAY', 'lots'],
    ['CHAT_GLOBAL_TOKENS_PER_MINUTE', '1e3'],
    ['CHAT_QUOTA_TABLE', 'quota-table'],
    ['CHAT_STORAGE_TABLE_ENDPOINT', 'not a url'],
    ['CHAT_STORAGE_TABLE_ENDPOINT', 'http://mystorage.table.core.windows.net'],
    ['CHAT_STORAGE_CONNECTION_STRING', 'hello'],
  ])('rejects %s=%j with an error that names the setting and shows an example', (name, value) => {
    const parse = () => quotaSettings({ [name]: value });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(new RegExp(`Setting ${name} .*Example: ${name}=\\S+`));
  });

  it('takes the table endpoint (Azure) or a connection string (Azurite), not both', () => {
    expect(quotaSettings({ CHAT_STORAGE_TABLE_ENDPOINT: 'https://st.table.core.windows.net/' }).store).toEqual({
      kind: 'endpoint',
      endpoint: 'https://st.table.core.windows.net',
    });
    expect(quotaSettings({ CHAT_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' }).store).toEqual({
      kind: 'connection-string',
      connectionString: 'UseDevelopmentStorage=true',
    });
    expect(() =>
      quotaSettings({
        CHAT_STORAGE_TABLE_ENDPOINT: 'https://st.table.core.windows.net',
        CHAT_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
      }),
    ).toThrow(/both set/);
  });

  it('allows an http endpoint only on loopback (a local emulator)', () => {
    expect(quotaSettings({ CHAT_STORAGE_TABLE_ENDPOINT: 'http://127.0.0.1:10002/devstoreaccount1' }).store.kind).toBe(
      'endpoint',
    );
  });
});
