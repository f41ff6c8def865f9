/**
 * A client that speaks HTTP/1.1 by hand over one TCP connection, for what `fetch` will not send: a body on a GET,
 * a body that stops half-way, two requests on one known connection. Every wait is on an event, with a guard.
 */
import * as net from 'node:net';

export class RawClient {
  readonly #socket: net.Socket;
  #text = '';
  readonly #waiters = new Set<() => void>();
  /** Resolves when the server has closed the connection (or it failed). */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (data: Buffer) => {
      this.#text += data.toString('latin1');
      for (const wake of this.#waiters) wake();
    });
    socket.on('error', () => undefined); // writes after the server closed: EPIPE / ECONNRESET, expected here
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Everything the server sent so far. */
  get text(): string {
    return this.#text;
  }

  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  /** Writes and resolves when the bytes were handed to the kernel (or the connection is gone). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.write(data, () => resolve()); // called with the error too, when the write fails
    });
  }

  /** Resolves once the text received so far matches `pattern`; rejects after `guardMs`. */
  until(pattern: RegExp, guardMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.#text)) return;
        done();
        resolve(this.#text);
      };
      const guard = setTimeout(() => {
        done();
        reject(
          new Error(`no ${String(pattern)} within ${guardMs} ms; got ${JSON.stringify(this.#text.slice(0, 300))}`),
        );
      }, guardMs);
      const done = () => {
        clearTimeout(guard);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves when the server closed the connection; rejects after `guardMs`. */
  async closedWithin(guardMs: number): Promise<void> {
    let guard: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      guard = setTimeout(() => reject(new Error(`connection still open after ${guardMs} ms`)), guardMs);
    });
    await Promise.race([this.closed, timeout]).finally(() => clearTimeout(guard));
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** The status code of the first answer in `text`. */
export function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
}
