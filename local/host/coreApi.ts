import Module from 'node:module';
import type {
  Disposable as CoreDisposable,
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookContext,
  HookData,
  HookName,
  LogHookContext,
  ProgrammingModel,
  RpcBindingInfo,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes';

/** Reported as `@azure/functions-core` `version` (the worker's version in Azure). */
export const localWorkerVersion = '3.10.1-local';
/** Reported as `hostVersion`; the library gates HTTP streaming on the presence of `log` (host 4.28+), not on this. */
export const localHostVersion = '4.1000.0-local';

/** Same semantics as the worker's Disposable (itself taken from VS Code). */
export class Disposable implements CoreDisposable {
  static from(...disposables: { dispose(): unknown }[]): Disposable {
    let pending: readonly { dispose(): unknown }[] | undefined = disposables;
    return new Disposable(() => {
      for (const d of pending ?? []) d.dispose();
      pending = undefined;
    });
  }

  #callOnDispose: (() => unknown) | undefined;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return call?.();
  }
}

export interface RegisteredFunction {
  readonly id: string;
  readonly name: string;
  readonly bindings: Readonly<Record<string, RpcBindingInfo>>;
  readonly retryOptions?: unknown;
  readonly callback: FunctionCallback;
}

export interface LogEntry {
  readonly level: RpcLogLevel;
  readonly category: RpcLogCategory;
  readonly message: string;
  readonly invocationId?: string;
  /** `Function.<name>.User` style category of the worker, or undefined outside invocations. */
  readonly functionName?: string;
  readonly invocationContext?: unknown;
}

export type LogSink = (entry: LogEntry) => void;

/**
 * Everything the app registers through `@azure/functions-core`: functions, hooks, the programming model.
 * Mirrors the worker's AppContext. Registration is only allowed until {@link lockRegistration} (end of startup).
 */
export class FunctionAppState {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly appHookData: HookData = {};
  /** `hookData` of app-level hooks (appStart/appTerminate), distinct from per-invocation hookData. */
  readonly appLevelOnlyHookData: HookData = {};
  programmingModel: ProgrammingModel | undefined;
  readonly #hooks: Record<HookName, HookCallback[]> = {
    appStart: [],
    appTerminate: [],
    preInvocation: [],
    postInvocation: [],
    log: [],
  };
  #locked = false;
  #inLogHook = false;
  readonly #sink: LogSink;

  constructor(sink: LogSink) {
    this.#sink = sink;
  }

  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    if (this.#locked) throw new Error('A function can only be registered during app startup.');
    const id = metadata.functionId ?? metadata.name;
    if (this.functions.has(id)) throw new Error(`A function with id "${id}" has already been registered.`);
    this.functions.set(id, {
      id,
      name: metadata.name,
      bindings: metadata.bindings,
      retryOptions: metadata.retryOptions,
      callback,
    });
    return new Disposable(() => {
      if (this.#locked) throw new Error('A function can only be disposed during app startup.');
      this.functions.delete(id);
    });
  }

  registerHook(hookName: string, callback: HookCallback): Disposable {
    const hooks = this.#hooksFor(hookName);
    hooks.push(callback);
    return new Disposable(() => {
      const index = hooks.indexOf(callback);
      if (index >= 0) hooks.splice(index, 1);
    });
  }

  /** Runs the hooks of one kind in registration order; a throwing hook stops the chain (as in the worker). */
  async executeHooks(hookName: Exclude<HookName, 'log'>, context: HookContext): Promise<void> {
    for (const callback of [...this.#hooksFor(hookName)]) {
      await callback(context);
    }
  }

  lockRegistration(): void {
    this.#locked = true;
  }

  /** Routes a log through the `log` hooks (which may rewrite user logs) to the sink. */
  log(entry: LogEntry): void {
    const hooks = this.#hooks.log;
    if (hooks.length === 0 || this.#inLogHook) {
      this.#sink(entry);
      return;
    }
    const context = createLogHookContext(entry, this.appHookData);
    this.#inLogHook = true;
    try {
      for (const callback of hooks) callback(context);
    } catch (err) {
      this.#sink({ level: 'error', category: 'system', message: `A log hook threw: ${String(err)}` });
    } finally {
      this.#inLogHook = false;
    }
    // Hooks may only change user-generated logs.
    this.#sink(entry.category === 'user' ? { ...entry, level: context.level, message: context.message } : entry);
  }

  #hooksFor(hookName: string): HookCallback[] {
    if (!isHookName(hookName)) throw new RangeError(`Unrecognized hook "${hookName}"`);
    return this.#hooks[hookName];
  }
}

function isHookName(name: string): name is HookName {
  return ['appStart', 'appTerminate', 'preInvocation', 'postInvocation', 'log'].includes(name);
}

function createLogHookContext(entry: LogEntry, appHookData: HookData): LogHookContext {
  return {
    hookData: {},
    appHookData,
    invocationContext: entry.invocationContext,
    category: entry.category,
    level: entry.level,
    message: entry.message,
  };
}

/** The object `require('@azure/functions-core')` returns, bound to the current app state. */
export function createCoreApi(state: FunctionAppState) {
  return {
    version: localWorkerVersion,
    hostVersion: localHostVersion,
    registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback) =>
      state.registerFunction(metadata, callback),
    registerHook: (hookName: string, callback: HookCallback) => state.registerHook(hookName, callback),
    setProgrammingModel: (programmingModel: ProgrammingModel) => {
      if (state.programmingModel) {
        state.log({
          level: 'information',
          category: 'system',
          message: `Setting Node.js programming model to "${programmingModel.name}" version "${programmingModel.version}"`,
        });
      }
      state.programmingModel = programmingModel;
    },
    getProgrammingModel: () => state.programmingModel,
    log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => state.log({ level, category, message }),
    Disposable,
  };
}

export type CoreApi = ReturnType<typeof createCoreApi>;

const coreModuleName = '@azure/functions-core';
// Process-global: Module.prototype is shared by every loader in this process (and vitest may evaluate this
// file more than once), so the slot lives on globalThis and the hook is installed at most once.
const currentApiSlot = Symbol.for('azure-chat-backend.localHost.coreApi');
const hookInstalledSlot = Symbol.for('azure-chat-backend.localHost.coreModuleHook');

interface GlobalSlots {
  [currentApiSlot]?: CoreApi | undefined;
  [hookInstalledSlot]?: boolean;
}

/**
 * Makes `require('@azure/functions-core')` return `api`, the way the Functions Node worker does
 * (`src/setupCoreModule.ts`): a Proxy over `Module.prototype.require`. Must run before the app's
 * `@azure/functions` asks for the core module (the library caches the first answer, including "absent").
 */
export function installCoreModule(api: CoreApi): void {
  const slots = globalThis as GlobalSlots;
  slots[currentApiSlot] = api;
  if (slots[hookInstalledSlot]) return;
  slots[hookInstalledSlot] = true;
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: unknown[]) {
      const current = slots[currentApiSlot];
      if (args[0] === coreModuleName && current) return current;
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });
}
