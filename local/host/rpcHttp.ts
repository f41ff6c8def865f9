import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type {
  RpcHttpCookie,
  RpcHttpData,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcTypedData,
} from './coreTypes';

export interface HttpInvocationInput {
  readonly invocationId: string;
  readonly functionId: string;
  /** Name of the httpTrigger binding (the library looks the binding up by this name). */
  readonly triggerName: string;
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly params: Readonly<Record<string, string>>;
  /** Request body; omitted in streaming mode, where the library reads it from the proxied request. */
  readonly body?: Buffer;
}

/**
 * The invocation request the Functions host sends for an HTTP trigger, with the capabilities the worker
 * announces (`RawHttpBodyBytes`, `RpcHttpBodyOnly`, `RpcHttpTriggerMetadataRemoved`): the body as bytes,
 * and trigger metadata reduced to `Headers`, `Query` and the route parameters (the library's streaming
 * path reads headers and params from there).
 */
export function toHttpInvocationRequest(input: HttpInvocationInput): RpcInvocationRequest & { invocationId: string } {
  const headers = flattenHeaders(input.headers);
  const query = flattenQuery(input.url.searchParams);
  const http: RpcHttpData = {
    method: input.method,
    url: input.url.toString(),
    headers,
    query,
    params: { ...input.params },
    body: { bytes: input.body ?? Buffer.alloc(0) },
    identities: [],
  };
  const triggerMetadata: Record<string, RpcTypedData> = {
    Headers: { json: JSON.stringify(headers) },
    Query: { json: JSON.stringify(query) },
  };
  for (const [name, value] of Object.entries(input.params)) triggerMetadata[name] = { string: value };
  return {
    invocationId: input.invocationId,
    functionId: input.functionId,
    inputData: [{ name: input.triggerName, data: { http } }],
    triggerMetadata,
    traceContext: { traceParent: '', traceState: '', attributes: {} },
    retryContext: undefined,
  };
}

/** Multi-valued headers are joined with `, ` as ASP.NET does; `set-cookie` with `; ` is not meaningful inbound. */
function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || value === '') continue; // IgnoreEmptyValuedRpcHttpHeaders
    result[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

/** Repeated query keys are joined with `,` (ASP.NET `StringValues.ToString()`). */
function flattenQuery(search: URLSearchParams): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of new Set(search.keys())) result[key] = search.getAll(key).join(',');
  return result;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Finds the HTTP output (the `$return` binding or a named `http` output) in the invocation response and turns it
 * into status, headers (cookies as `Set-Cookie`) and body. No HTTP output at all gives 204, like the host for a
 * handler that returns nothing.
 */
export function fromHttpInvocationResponse(response: RpcInvocationResponse, httpOutputName: string): HttpResult {
  const data =
    httpOutputName === '$return'
      ? response.returnValue
      : response.outputData?.find((o) => o.name === httpOutputName)?.data;
  const http = data?.http;
  if (!http) return { status: 204, headers: {}, body: Buffer.alloc(0) };
  const headers: OutgoingHttpHeaders = { ...(http.headers ?? {}) };
  const cookies = (http.cookies ?? []).map(serializeCookie);
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const status = Number.parseInt(http.statusCode ?? '', 10);
  return { status: Number.isInteger(status) ? status : 200, headers, body: typedDataToBuffer(http.body) };
}

function typedDataToBuffer(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (typeof data.string === 'string') return Buffer.from(data.string);
  if (typeof data.json === 'string') return Buffer.from(data.json);
  if (typeof data.int === 'number') return Buffer.from(String(data.int));
  if (typeof data.double === 'number') return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

/** RFC 6265 `Set-Cookie` from the RPC cookie, values URL-encoded as ASP.NET's cookie writer does. */
export function serializeCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${encodeURIComponent(cookie.value ?? '')}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const expires = cookie.expires?.value;
  if (expires && typeof expires.seconds === 'number') {
    parts.push(`Expires=${new Date(expires.seconds * 1000 + (expires.nanos ?? 0) / 1e6).toUTCString()}`);
  }
  if (typeof cookie.maxAge?.value === 'number') parts.push(`Max-Age=${Math.floor(cookie.maxAge.value)}`);
  if (cookie.secure?.value) parts.push('Secure');
  if (cookie.httpOnly?.value) parts.push('HttpOnly');
  const sameSite = { lax: 'Lax', strict: 'Strict', explicitNone: 'None', none: undefined }[cookie.sameSite ?? 'none'];
  if (sameSite) parts.push(`SameSite=${sameSite}`);
  return parts.join('; ');
}
