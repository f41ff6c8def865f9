/**
 * The request body as the host sees it before anyone reads it: whether there is one and how it is framed, and
 * what that means for the connection when the answer goes out before the body was read.
 */
import type http from 'node:http';
import type { HttpLimits } from './limits';

/** `length`: `content-length` > 0; `chunked`: `transfer-encoding` (Node's parser accepts only chunked last). */
export type BodyFraming = 'none' | 'length' | 'chunked';

export function bodyFraming(headers: http.IncomingHttpHeaders): BodyFraming {
  if (headers['transfer-encoding'] !== undefined) return 'chunked';
  return Number(headers['content-length'] ?? 0) > 0 ? 'length' : 'none';
}

/** RFC 9110 9.3.1: content in a GET (or HEAD) has no defined meaning; no route here reads one. */
export function bodyAllowed(method: string, framing: BodyFraming): boolean {
  return framing === 'none' || (method !== 'GET' && method !== 'HEAD');
}

/** The framing headers of the forwarded request: always explicit, so the proxy can never read a body as a request. */
export function framingHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  switch (bodyFraming(headers)) {
    case 'length':
      return { 'content-length': headers['content-length'] };
    case 'chunked':
      return { 'transfer-encoding': 'chunked' };
    case 'none':
      return { 'content-length': '0' };
  }
}

/** Whether body bytes may still come from the client (the parser has not reached the end of the request). */
export function bodyPending(req: http.IncomingMessage): boolean {
  return bodyFraming(req.headers) !== 'none' && !req.complete;
}

/**
 * Call just before the answer's headers go out. A body still to come is read and dropped after the answer only
 * when it is small and its size is known; otherwise the answer says `Connection: close` and the connection ends
 * with it. Either way the next request on that connection never starts in the middle of this one's body.
 */
export function closeUnlessDrainable(res: http.ServerResponse, limits: HttpLimits): void {
  const req = res.req;
  if (!bodyPending(req)) return;
  const declared = Number(req.headers['content-length']);
  const drainable = bodyFraming(req.headers) === 'length' && declared <= limits.drainBytes;
  if (!drainable) res.shouldKeepAlive = false;
  res.once('finish', () => {
    // Whoever was reading the body stopped: drop the rest (Node only does so for a body nobody touched).
    req.unpipe();
    req.resume();
  });
}
