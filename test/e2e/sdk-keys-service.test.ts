/** Keys where SDKs put them, with service callers only: CHAT_SERVICE_KEYS makes the app check them. */
import { FUNCTION_KEY, startBackend } from './backend';
import { describeSdkKeys } from './sdk-keys';

describeSdkKeys('service callers only and CHAT_SERVICE_KEYS', async () => {
  const backend = await startBackend({ CHAT_AUTH_CALLERS: 'service', CHAT_SERVICE_KEYS: FUNCTION_KEY });
  return { backend, close: () => backend.close() };
});
