/** Helpers for the HTTPS stand-ins. A throwaway self-signed certificate for 127.0.0.1 and localhost (openssl), trusted only by the test that makes it. */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:https';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stand-in-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An Azure SDK pipeline policy (the same core-rest-pipeline type in every Azure client). */
export type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

/** A policy that makes one Azure SDK client, and only it, trust `cert`. */
export function trustPolicy(name: string, cert: string): PipelinePolicy {
  const agent = new Agent({ ca: cert, keepAlive: false });
  return {
    name,
    sendRequest: (request, next) => {
      request.agent = agent;
      return next(request);
    },
  };
}
