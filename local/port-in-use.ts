/**
 * The one line `npm start` prints when a port it binds is taken, instead of Node's bare
 * `listen EADDRINUSE 127.0.0.1:7081`: what the port was for, who usually holds it, and the ways out.
 */

export interface PortUse {
  readonly port: number;
  /** What would have listened there: `the simulated region eastus2`. */
  readonly purpose: string;
  /** Who usually holds it: `` `npm run simulators` or another `npm start` ``. */
  readonly usualHolders: string;
  /** Ways out besides stopping that process, each a clause: `choose another port with PORT`. */
  readonly alternatives: readonly string[];
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';

  constructor(
    readonly use: PortUse,
    options: { readonly cause: unknown },
  ) {
    super(portInUseMessage(use), options);
  }
}

export function portInUseMessage(use: PortUse): string {
  const ways = ['stop that process', ...use.alternatives];
  const last = ways.pop() ?? '';
  const joined = ways.length === 0 ? last : `${ways.join(', ')}, or ${last}`;
  return (
    `Port ${use.port} is already in use, so ${use.purpose} cannot start (is ${use.usualHolders} running?). ` +
    `${joined.charAt(0).toUpperCase()}${joined.slice(1)}.`
  );
}

/** Runs `bind`; an address-in-use failure becomes a {@link PortInUseError} that explains `use`. */
export async function bindPort<T>(use: PortUse, bind: () => Promise<T>): Promise<T> {
  try {
    return await bind();
  } catch (error) {
    if ((error as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE') throw new PortInUseError(use, { cause: error });
    throw error;
  }
}

export interface SimulatorPort {
  readonly port: number;
  readonly region: string;
  /** The setting that moves it: `SIMULATOR_PRIMARY_PORT`. */
  readonly setting: string;
}

/** How `npm start` came to start the simulated regions, which decides what CHAT_SIMULATOR=false would do. */
export type SimulatorReason = 'simulators-only' | 'no-regions-configured' | 'simulator-forced';

export function simulatorPortUse(simulator: SimulatorPort, reason: SimulatorReason): PortUse {
  const move = `choose another port with ${simulator.setting}`;
  const purpose = `the simulated region ${simulator.region}`;
  if (reason === 'simulators-only') {
    return {
      port: simulator.port,
      purpose,
      usualHolders: '`npm start` or another `npm run simulators`',
      alternatives: ['use the simulated regions that process already serves', move],
    };
  }
  // CHAT_SIMULATOR=false only stops `npm start` from starting simulators when CHAT_REGIONS names regions.
  const useRegions =
    reason === 'simulator-forced'
      ? 'set CHAT_SIMULATOR=false to use the regions CHAT_REGIONS names instead (those already running, or real Azure)'
      : 'set CHAT_REGIONS (local.settings.json.example names the simulated regions on 7081 and 7082) with ' +
        'CHAT_SIMULATOR=false to use regions already running or real Azure';
  return {
    port: simulator.port,
    purpose,
    usualHolders: '`npm run simulators` or another `npm start`',
    alternatives: [useRegions, move],
  };
}

export function apiPortUse(port: number): PortUse {
  return {
    port,
    purpose: 'the API host',
    usualHolders: 'another `npm start` or `func start`',
    alternatives: ['choose another port with PORT (or Host.LocalHttpPort in local.settings.json)'],
  };
}

export function identityPortUse(port: number): PortUse {
  return {
    port,
    purpose: 'the local sign-in provider',
    usualHolders: 'another `npm start` or `npm run simulators`',
    alternatives: ['choose another port with IDENTITY_PROVIDER_PORT'],
  };
}
