import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  apiPortUse,
  bindPort,
  PortInUseError,
  portInUseMessage,
  simulatorPortUse,
  type SimulatorReason,
} from '../../local/port-in-use';

const eastus2 = { port: 7081, region: 'eastus2', setting: 'SIMULATOR_PRIMARY_PORT' };

describe('portInUseMessage', () => {
  it.each<[SimulatorReason, RegExp]>([
    ['no-regions-configured', /set CHAT_REGIONS \(local\.settings\.json\.example .*\) with CHAT_SIMULATOR=false/],
    ['simulator-forced', /set CHAT_SIMULATOR=false to use the regions CHAT_REGIONS names instead/],
    ['simulators-only', /use the simulated regions that process already serves/],
  ])('for simulators started as %s names the region, the way out and the port setting', (reason, wayOut) => {
    const message = portInUseMessage(simulatorPortUse(eastus2, reason));
    expect(message).toMatch(
      /^Port 7081 is already in use, so the simulated region eastus2 cannot start \(is .*running\?\)\. /,
    );
    expect(message).toMatch(/Stop that process, /);
    expect(message).toMatch(wayOut);
    expect(message).toMatch(/, or choose another port with SIMULATOR_PRIMARY_PORT\.$/);
    expect(message).not.toContain('\n');
  });

  it('tells who usually holds a simulator port', () => {
    expect(portInUseMessage(simulatorPortUse(eastus2, 'no-regions-configured'))).toContain(
      '(is `npm run simulators` or another `npm start` running?)',
    );
  });

  it('names the API host and the settings that move its port', () => {
    expect(portInUseMessage(apiPortUse(7071))).toBe(
      'Port 7071 is already in use, so the API host cannot start (is another `npm start` or `func start` running?). ' +
        'Stop that process, or choose another port with PORT (or Host.LocalHttpPort in local.settings.json).',
    );
  });
});

describe('bindPort', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  function listen(port: number): Promise<net.Server> {
    const server = net.createServer();
    servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }

  it('turns an address-in-use failure into a PortInUseError that explains the port', async () => {
    const taken = (await listen(0)).address() as net.AddressInfo;
    const error = await bindPort(apiPortUse(taken.port), () => listen(taken.port)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as Error).message).toMatch(new RegExp(`^Port ${taken.port} is already in use, so the API host`));
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it('passes other failures through unchanged', async () => {
    const other = new Error('something else');
    await expect(bindPort(apiPortUse(1), () => Promise.reject(other))).rejects.toBe(other);
  });
});
