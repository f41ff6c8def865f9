/**
 * A local HTTPS stand-in of the Key Vault secrets REST API (GET /secrets/{name}[/{version}]), answering
 * with the real service's shapes from test/fixtures/azure-wire: the 401 bearer challenge, 403
 * ForbiddenByRbac, 404 SecretNotFound and the 200 secret bundle. Its certificate is self-signed and
 * trusted only by the agent it hands to the test.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate, trustPolicy, type PipelinePolicy } from './certificate';

export const TENANT = '12345678-1234-1234-1234-123456789012';

export interface KeyVaultStandIn {
  readonly url: string;
  /** Trusts the stand-in's certificate; pass to SecretClient as an additional policy. */
  readonly trustPolicy: PipelinePolicy;
  readonly secrets: Map<string, string>;
  /** Object ids allowed to read secrets; everyone else gets 403 ForbiddenByRbac. Empty = everyone. */
  readonly readers: Set<string>;
  /** GETs of a secret that carried a token. */
  readonly reads: string[];
  close(): Promise<void>;
}

function objectId(authorization: string): string | undefined {
  const payload = authorization.replace(/^Bearer /, '').split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: string };
    return claims.oid;
  } catch {
    return undefined;
  }
}

export async function startKeyVaultStandIn(): Promise<KeyVaultStandIn> {
  const { key, cert } = selfSignedCertificate();
  const secrets = new Map<string, string>();
  const readers = new Set<string>();
  const reads: string[] = [];
  const server: Server = createServer({ key, cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
        'x-ms-keyvault-region': 'eastus2',
        ...headers,
      });
      res.end(text);
    };
    const match = url.pathname.match(/^\/secrets\/([A-Za-z0-9-]+)\/?([0-9a-f]*)$/);
    if (req.method !== 'GET' || !match?.[1] || !url.searchParams.get('api-version')) {
      return send(400, { error: { code: 'BadParameter', message: 'The request URI is not valid.' } });
    }
    const authorization = req.headers.authorization;
    if (!authorization?.startsWith('Bearer ')) {
      // kv_401_challenge_get_secret.json
      return send(
        401,
        { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
        {
          'www-authenticate': `Bearer authorization="https://login.windows.net/${TENANT}", resource="https://vault.azure.net"`,
        },
      );
    }
    const name = match[1];
    reads.push(name);
    const oid = objectId(authorization) ?? 'unknown';
    if (readers.size > 0 && !readers.has(oid)) {
      // kv_403_forbidden_by_rbac.json
      return send(403, {
        error: {
          code: 'Forbidden',
          message: `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=04b07795-8ddb-461a-bbee-02f9e1bf7b46;oid=${oid};iss=https://sts.windows.net/${TENANT}/\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv/secrets/${name}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: kv;location=eastus2\r\n`,
          innererror: { code: 'ForbiddenByRbac' },
        },
      });
    }
    const value = secrets.get(name);
    if (value === undefined) {
      // kv_404_secret_not_found.json
      return send(404, {
        error: {
          code: 'SecretNotFound',
          message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
        },
      });
    }
    // kv_200_get_secret.json
    return send(200, {
      value,
      id: `https://127.0.0.1:${(server.address() as AddressInfo).port}/secrets/${name}/41cce6796d81438f9dad0d96bf85d50d`,
      attributes: {
        enabled: true,
        created: 1668124872,
        updated: 1668124872,
        recoveryLevel: 'CustomizedRecoverable+Purgeable',
        recoverableDays: 7,
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    trustPolicy: trustPolicy('trustKeyVaultStandIn', cert),
    secrets,
    readers,
    reads,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
