/**
 * Attacks on a developer's laptop running `npm start`, from a web page they happen to visit:
 * - DNS rebinding: the page's own name (attacker.example) is pointed at 127.0.0.1, so the browser treats the local
 *   backend as the page's origin. The request still says `Host: attacker.example`: the local host refuses it.
 * - Token minting: the local sign-in provider signs a token for any user name; with `Access-Control-Allow-Origin: *`
 *   any page could read one. It answers CORS only to the backend's own origins (by default: pages on this machine).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type RunningIdentityProvider } from '../../local/identity';
import { useLocalStack } from './local-stack';

const stack = useLocalStack();

/** GET `path` from the local host with `host` as the Host header (fetch will not set it). */
function getWithHost(path: string, host: string): Promise<number> {
  const url = new URL(`${stack.backend.host.url}${path}`);
  return new Promise((resolve, reject) => {
    const request = http.get({ hostname: url.hostname, port: url.port, path, headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', reject);
  });
}

describe('DNS rebinding against the local host', () => {
  it.each(['attacker.example', 'attacker.example:7071', 'localhost.attacker.example', '127.0.0.1.nip.io'])(
    'refuses Host: %s with 403, and still answers loopback names and IP addresses',
    async (host) => {
      expect(await getWithHost('/api/health', host)).toBe(403);
      for (const local of ['localhost', 'localhost:7071', '127.0.0.1:7071', '[::1]:7071', 'app.localhost']) {
        expect(await getWithHost('/api/health', local)).toBe(200);
      }
    },
  );
});

describe('the local sign-in provider’s CORS', () => {
  const askToken = (url: string, origin: string) =>
    fetch(`${url}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'victim' }),
    });

  it('lets no page of another site read a token', async () => {
    const answer = await askToken(stack.identity.url, 'https://attacker.example');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${stack.identity.url}/token`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://attacker.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  describe('given the backend’s origins, as npm start gives them', () => {
    let provider: RunningIdentityProvider;
    beforeAll(async () => {
      provider = await startIdentityProvider({
        port: 0,
        allowedOrigins: ['http://localhost:7071', 'http://127.0.0.1:7071', 'https://app.contoso.com'],
      });
    });
    afterAll(() => provider.close());

    it('answers them, and no other page, not even another one on this machine', async () => {
      for (const origin of ['http://localhost:7071', 'https://app.contoso.com']) {
        expect((await askToken(provider.url, origin)).headers.get('access-control-allow-origin')).toBe(origin);
      }
      for (const origin of ['http://localhost:5173', 'https://attacker.example', 'null']) {
        expect((await askToken(provider.url, origin)).headers.get('access-control-allow-origin')).toBeNull();
      }
    });
  });
});
