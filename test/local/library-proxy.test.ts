import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgrammingModel } from '../../local/host/coreTypes';
import { negotiateCapabilities } from '../../local/host/libraryProxy';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server on loopback, or on every interface (as the library's proxy listens) when `host` is undefined. */
function listening(host: string | undefined = '127.0.0.1'): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('proxy'));
  servers.push(server);
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

/** Like the library's getCapabilities with enableHttpStream: starts a server nobody else can reach, names its port. */
function streamingModel(alsoStarted: http.Server[]): ProgrammingModel {
  return {
    name: 'fake',
    version: '1',
    getInvocationModel: () => {
      throw new Error('not used');
    },
    async getCapabilities(capabilities) {
      const unrelated = await listening();
      const proxy = await listening();
      alsoStarted.push(unrelated, proxy);
      return { ...capabilities, HttpUri: `http://localhost:${(proxy.address() as AddressInfo).port}/` };
    },
  };
}

describe('negotiateCapabilities', () => {
  it('announces the worker capabilities and reports the proxy URI the model answers', async () => {
    let announced: Record<string, string> = {};
    const model: ProgrammingModel = {
      ...streamingModel([]),
      async getCapabilities(capabilities) {
        announced = capabilities;
        return Promise.resolve({ ...capabilities, HttpUri: 'http://localhost:55001/' });
      },
    };
    const capabilities = await negotiateCapabilities(model);
    expect(capabilities.proxyUri).toBe('http://localhost:55001/');
    expect(announced).toMatchObject({ RawHttpBodyBytes: 'true', HandlesWorkerTerminateMessage: 'true' });
  });

  it('closes only the server listening on the proxy port, found without patching http.createServer', async () => {
    const createServer = http.createServer;
    const started: http.Server[] = [];
    const capabilities = await negotiateCapabilities(streamingModel(started));
    expect(http.createServer).toBe(createServer);
    const [unrelated, proxy] = started;
    expect(proxy?.listening).toBe(true);

    await capabilities.closeProxy();
    expect(proxy?.listening).toBe(false);
    expect(unrelated?.listening).toBe(true);
  });

  it('moves a proxy listening on every interface to a loopback port and returns that URI', async () => {
    let proxy: http.Server | undefined;
    const model: ProgrammingModel = {
      ...streamingModel([]),
      async getCapabilities(capabilities) {
        proxy = await listening(undefined);
        return { ...capabilities, HttpUri: `http://localhost:${(proxy.address() as AddressInfo).port}/` };
      },
    };
    const capabilities = await negotiateCapabilities(model);
    const address = proxy?.address() as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
    expect(capabilities.proxyUri).toBe(`http://127.0.0.1:${address.port}/`);
    expect(await (await fetch(capabilities.proxyUri ?? '')).text()).toBe('proxy');
  });

  it('has nothing to close when the app did not enable streaming', async () => {
    const capabilities = await negotiateCapabilities(undefined);
    expect(capabilities.proxyUri).toBeUndefined();
    await expect(capabilities.closeProxy()).resolves.toBeUndefined();
  });
});
