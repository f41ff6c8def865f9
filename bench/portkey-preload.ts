/**
 * Loaded into the Portkey gateway's process with `node --require` (see bench/portkey.ts), before Portkey's own
 * `build/start-server.js`. That script takes its port from `--port=N` but has no option for the host, and
 * `@hono/node-server` then listens on every interface; this binds it to loopback instead, reports the port it
 * got over IPC (so `--port=0` works without a race for a free port), and answers `stats` as the backend does
 * (bench/server.ts). Nothing here runs per request.
 */
import { Server } from 'node:net';
import type { FromBackend, ToBackend } from './protocol';

function send(message: FromBackend): void {
  process.send?.(message);
}

// eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with `apply` on each server below
const listen = Server.prototype.listen;
let reported = false;

// `serve()` of @hono/node-server calls `listen(port, hostname, callback)` with `hostname` undefined.
Server.prototype.listen = function (this: Server, ...args: unknown[]): Server {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  }
  this.once('listening', () => {
    const address = this.address();
    if (reported || address === null || typeof address === 'string') return;
    reported = true;
    send({ type: 'ready', url: `http://127.0.0.1:${address.port}` });
  });
  return listen.apply(this, args as Parameters<Server['listen']>);
} as Server['listen'];

process.on('message', (message: ToBackend) => {
  if (message.type !== 'stats') return;
  const cpu = process.cpuUsage();
  send({ type: 'reply', id: message.id, rss: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system });
});
process.once('disconnect', () => process.exit(0));
