/** Keys where SDKs put them, with sign-in on: users and service callers (CHAT_SERVICE_KEYS). */
import { startSignedInBackend } from './backend';
import { describeSdkKeys } from './sdk-keys';

describeSdkKeys('users and service callers', () => startSignedInBackend());
