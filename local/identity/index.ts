/** The local OpenID Connect provider: Entra-shaped access tokens for `npm start` and tests. */
export { identityProviderPort, parseTokenRequest, startIdentityProvider } from './server';
export type {
  IdentityProviderOptions,
  IdentityProviderStats,
  IdentitySettingName,
  RunningIdentityProvider,
  TokenRequestExtras,
} from './server';
export { LOCAL_API_CLIENT_ID, LOCAL_SPA_CLIENT_ID, LOCAL_TENANT_ID, objectIdFor } from './tokens';
