/** Real HttpRequest / InvocationContext objects from @azure/functions, as the Functions host builds them. */
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';

export function jsonRequest(url: string, body: unknown, headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071${url}`,
    headers: { 'content-type': 'application/json', ...headers },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
}

export function getRequest(url: string, headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ method: 'GET', url: `http://localhost:7071${url}`, headers });
}

export function invocation(functionName = 'test'): InvocationContext {
  return new InvocationContext({ functionName, logHandler: () => undefined });
}

export async function bodyText(response: HttpResponseInit): Promise<string> {
  const body = response.body;
  if (body === undefined || body === null)
    return response.jsonBody === undefined ? '' : JSON.stringify(response.jsonBody);
  if (typeof body === 'string') return body;
  if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of body as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
    return text;
  }
  throw new Error('unexpected body type');
}

export function header(response: HttpResponseInit, name: string): string | undefined {
  const headers = response.headers as Record<string, string> | undefined;
  return headers?.[name];
}
