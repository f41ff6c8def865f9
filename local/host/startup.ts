/**
 * Start-up as the Functions Node worker does it: answer `require('@azure/functions-core')`, load the entry files,
 * end registration, run the appStart hooks, then negotiate capabilities with the programming model.
 */
import type { Server } from 'node:http';
import { createCoreApi, installCoreModule, FunctionAppState, type LogEntry } from './coreApi';
import type { AppStartContext, HookContext } from './coreTypes';
import { loadEntryFile, resolveEntryFiles } from './entry';
import { negotiateCapabilities } from './libraryProxy';
import { errorText, type LocalHostLogger } from './logger';

export interface StartupOptions {
  /** The function app directory (absolute). */
  readonly cwd: string;
  /** Entry file or glob, relative to `cwd`; default: package.json `main`. */
  readonly entry: string | undefined;
  readonly logger: LocalHostLogger;
}

export interface StartedApp {
  /** What the app registered: functions, hooks, the programming model. */
  readonly app: FunctionAppState;
  /** The library's HTTP streaming proxy (`HttpUri`), or undefined when the app did not enable streaming. */
  readonly proxyUri: string | undefined;
  /** The library's proxy server object, when found in this process. */
  readonly proxyServer: Server | undefined;
  /** Closes the library's proxy server, then runs the appTerminate hooks. */
  terminate(): Promise<void>;
}

/**
 * Set by the first start-up, never cleared. One host per process is a hard limit, not a choice: the library
 * (`@azure/functions`) fetches `@azure/functions-core` once and keeps it in its module state, along with
 * `app.setup` and its proxy, and the app's modules stay cached after `close()` (importing them again registers
 * nothing). A second host in the same process would get no functions and talk to the first one's state.
 * vitest runs each test file isolated, in a worker of its own, so each test file can start one host.
 */
let started = false;

export async function startFunctionApp(options: StartupOptions): Promise<StartedApp> {
  if (started) {
    throw new Error(
      'A local Functions host was already started in this process; only one host per process is supported.',
    );
  }
  started = true;
  const app = new FunctionAppState((entry) => writeLog(options.logger, entry));
  installCoreModule(createCoreApi(app));
  await loadEntryFiles(options);
  app.lockRegistration();
  const appStart: AppStartContext = {
    hookData: app.appLevelOnlyHookData,
    appHookData: app.appHookData,
    functionAppDirectory: options.cwd,
  };
  await app.executeHooks('appStart', appStart);
  const capabilities = await negotiateCapabilities(app.programmingModel);
  return {
    app,
    proxyUri: capabilities.proxyUri,
    proxyServer: capabilities.proxyServer,
    async terminate() {
      await capabilities.closeProxy();
      const terminate: HookContext = { hookData: app.appLevelOnlyHookData, appHookData: app.appHookData };
      await app.executeHooks('appTerminate', terminate);
    },
  };
}

async function loadEntryFiles(options: StartupOptions): Promise<void> {
  for (const file of resolveEntryFiles(options.cwd, options.entry)) {
    try {
      await loadEntryFile(file);
    } catch (err) {
      throw new Error(`Failed to load entry file ${file}: ${errorText(err)}`, { cause: err });
    }
  }
}

/** The app's logs (through the `log` hooks) to the host's logger, at the matching level. */
function writeLog(logger: LocalHostLogger, entry: LogEntry): void {
  const text = entry.message;
  switch (entry.level) {
    case 'none':
      return;
    case 'trace':
    case 'debug':
      logger.debug?.(text);
      return;
    case 'information':
      // System information from the library is chatter ("Http proxy closing"); keep it at debug.
      if (entry.category === 'system') logger.debug?.(text);
      else logger.info(text);
      return;
    case 'warning':
      logger.warn(text);
      return;
    default:
      logger.error(text);
  }
}
