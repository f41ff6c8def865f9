/** End-user sign-in: settings, the Entra ID access token validator, and who the caller is. */
export { appServicePrincipal } from './app-service';
export type { PrincipalCheck } from './app-service';
export { principalId, SERVICE_CALLER } from './caller';
export type { AppCaller, Caller, ServiceCaller, UserCaller } from './caller';
export { createCallerResolver } from './resolve-caller';
export type {
  CallerCheck,
  CallerFailure,
  CallerRequest,
  CallerResolver,
  CallerResolverOptions,
} from './resolve-caller';
export { isTrustedKeyUrl, parseUserAuthSettings } from './settings';
export type { CallerClass, TokenSettings, UserAuthSettings } from './settings';
export { SigningKeys, SigningKeysUnavailableError, UnknownSigningKeyError } from './signing-keys';
export type { SigningKeysOptions } from './signing-keys';
export { bearerToken, createTokenValidator, wwwAuthenticate } from './token-validator';
export type {
  AccessTokenClaims,
  AuthFailure,
  TokenCheck,
  TokenValidator,
  TokenValidatorOptions,
} from './token-validator';
export { webSignIn } from './web-sign-in';
export type { WebSignIn } from './web-sign-in';
