import { afterEach, expect, it, vi } from 'vitest';
import { startLocalHost } from '../../local/host';
import { silentLogger } from '../../local/host/logger';

afterEach(() => {
  vi.unstubAllEnvs();
});

it('refuses to start with a bad setting and names it, instead of failing the first chat', async () => {
  vi.stubEnv('CHAT_REGIONS', '[{"name":"East US 2"}]');
  vi.stubEnv('AZURE_OPENAI_API_KEY', 'k');
  await expect(
    startLocalHost({ cwd: process.cwd(), entry: 'functions/*.ts', port: 0, logger: silentLogger }),
  ).rejects.toThrow(/Setting CHAT_REGIONS is invalid at 0\.name: .* Example: CHAT_REGIONS=\[/);
});
