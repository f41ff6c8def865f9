import type http from 'node:http';
import { bodyPending } from './requestBody';

/**
 * Calls `onIdle` once when no byte of a pending request body has arrived for `ms`. Node's own timeouts do not
 * cover this: `requestTimeout` bounds the whole request, not a silence in it, and the socket timeout also runs
 * while a complete request waits for its answer (and Node reuses it for keep-alive). The HTTP parser reads the
 * socket directly, so no event shows progress: the socket's byte count is sampled a few times per `ms` instead.
 * A body the app is slow to read looks idle too (backpressure stops the reads), which is also worth ending.
 */
export function watchBodyIdle(req: http.IncomingMessage, ms: number, onIdle: () => void): void {
  if (!bodyPending(req)) return;
  const socket = req.socket;
  let lastBytes = socket.bytesRead;
  let lastProgress = performance.now();
  const timer = setInterval(
    () => {
      if (!bodyPending(req) || socket.destroyed) {
        clearInterval(timer);
        return;
      }
      const now = performance.now();
      if (socket.bytesRead !== lastBytes) {
        lastBytes = socket.bytesRead;
        lastProgress = now;
      } else if (now - lastProgress >= ms) {
        clearInterval(timer);
        onIdle();
      }
    },
    Math.max(5, Math.ceil(ms / 4)),
  );
  timer.unref();
}
