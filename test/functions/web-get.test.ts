import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../functions/web-get';
import type { WebSignIn } from '../../shared/auth';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const API = '6e7f8a9b-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const SPA = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

describe('contentSecurityPolicy', () => {
  it.each<{ signIn: WebSignIn; policy: string }>([
    { signIn: { kind: 'none' }, policy: "default-src 'self'" },
    {
      signIn: { kind: 'local', tokenUrl: 'http://127.0.0.1:7083/token' },
      policy: "default-src 'self'; connect-src 'self' http://127.0.0.1:7083",
    },
    {
      signIn: {
        kind: 'msal',
        clientId: SPA,
        authority: `https://login.microsoftonline.com/${TENANT}`,
        scopes: [`api://${API}/chat`],
      },
      policy:
        "default-src 'self'; connect-src 'self' https://login.microsoftonline.com; frame-src https://login.microsoftonline.com",
    },
  ])('lets a $signIn.kind page reach only its own origin and its sign-in', ({ signIn, policy }) => {
    expect(contentSecurityPolicy(signIn)).toBe(policy);
  });
});
