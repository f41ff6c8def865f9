/**
 * A local stand-in of the Application Insights ingestion endpoint (Breeze): the exporter POSTs
 * gzip'd JSON arrays of envelopes to `<IngestionEndpoint>/v2.1/track`; the stand-in keeps every
 * envelope and answers like the service (`itemsReceived`, `itemsAccepted`, `errors`).
 *
 * It speaks HTTPS with a self-signed certificate: the exporter rewrites an `http://` ingestion
 * endpoint to `https://`, so a plain HTTP stand-in would never be reached. `trustPolicy` makes the
 * exporter (and only it) trust the certificate.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { selfSignedCertificate, trustPolicy, type PipelinePolicy } from './certificate';

/** One telemetry item as the exporter sends it (only the fields the tests read are typed). */
export interface Envelope {
  readonly name: string;
  readonly time: string;
  readonly iKey?: string;
  readonly instrumentationKey?: string;
  readonly tags: Record<string, string>;
  readonly data: { readonly baseType: string; readonly baseData: BaseData };
}

export interface BaseData {
  readonly name?: string;
  readonly id?: string;
  readonly type?: string;
  readonly target?: string;
  readonly data?: string;
  readonly resultCode?: string;
  readonly success?: boolean;
  readonly duration?: string;
  readonly properties?: Record<string, string>;
  readonly metrics?: readonly { name: string; value: number; count?: number; min?: number; max?: number }[];
}

export interface IngestionStandIn {
  /** Connection string pointing the exporter here (a zero instrumentation key, never a real one). */
  readonly connectionString: string;
  readonly url: string;
  /** Trusts the stand-in's certificate; pass to the exporter as an additional policy. */
  readonly trustPolicy: PipelinePolicy;
  /** Every envelope received, in order. */
  readonly envelopes: Envelope[];
  /** Request paths posted to (to check the exporter's route). */
  readonly paths: string[];
  /** Forgets what was received so far. */
  clear(): void;
  close(): Promise<void>;
}

/** A zero GUID, assembled at run time so no source line looks like a real instrumentation key. */
export const ZERO_IKEY = ['00000000', '0000', '0000', '0000', '000000000000'].join('-');

export async function startIngestionStandIn(): Promise<IngestionStandIn> {
  const envelopes: Envelope[] = [];
  const paths: string[] = [];
  const { key, cert } = selfSignedCertificate();
  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString('utf8').trim();
      // A JSON array, or one envelope per line (both are accepted by the service).
      const items: Envelope[] = text.startsWith('[')
        ? (JSON.parse(text) as Envelope[])
        : text.split('\n').map((line) => JSON.parse(line) as Envelope);
      envelopes.push(...items);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}/`;
  return {
    connectionString: `InstrumentationKey=${ZERO_IKEY};IngestionEndpoint=${url}`,
    url,
    trustPolicy: trustPolicy('trustIngestionStandIn', cert),
    envelopes,
    paths,
    clear() {
      envelopes.length = 0;
      paths.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Dependencies (one per upstream attempt), in the order they ended. */
export function dependencies(envelopes: readonly Envelope[]): Envelope[] {
  return envelopes
    .filter((e) => e.data.baseType === 'RemoteDependencyData')
    .sort((a, b) => Number(a.data.baseData.properties?.attempt) - Number(b.data.baseData.properties?.attempt));
}

export function events(envelopes: readonly Envelope[], name?: string): Envelope[] {
  return envelopes.filter(
    (e) => e.data.baseType === 'EventData' && (name === undefined || e.data.baseData.name === name),
  );
}

/** Metric points of one name, with their dimensions. */
export function metricPoints(
  envelopes: readonly Envelope[],
  name: string,
): { value: number; count?: number; dimensions: Record<string, string> }[] {
  return envelopes
    .filter((e) => e.data.baseType === 'MetricData')
    .flatMap((e) =>
      (e.data.baseData.metrics ?? [])
        .filter((m) => m.name === name)
        .map((m) => ({
          value: m.value,
          ...(m.count === undefined ? {} : { count: m.count }),
          dimensions: e.data.baseData.properties ?? {},
        })),
    );
}
