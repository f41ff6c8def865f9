import type { FunctionAppState, RegisteredFunction } from './coreApi';
import type {
  CoreInvocationContext,
  HookData,
  InvocationState,
  PostInvocationContext,
  PreInvocationContext,
  RpcFunctionMetadata,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes';

export interface InvocationOutcome {
  readonly response: RpcInvocationResponse;
  /** The handler's result after postInvocation hooks (undefined when it returned nothing). */
  readonly result: unknown;
}

/**
 * One invocation, step for step as the worker's InvocationHandler runs it: invocation model, arguments,
 * preInvocation hooks (which may swap inputs and the callback), the handler, postInvocation hooks (which may
 * swap result and error), then the response. Rejects with the handler's error when there is one.
 */
export async function invokeFunction(
  app: FunctionAppState,
  fn: RegisteredFunction,
  request: RpcInvocationRequest & { invocationId: string },
): Promise<InvocationOutcome> {
  const programmingModel = app.programmingModel;
  if (!programmingModel) throw new Error('No programming model was registered; did the app load @azure/functions?');

  const coreCtx = new LocalCoreInvocationContext(app, request, toRpcMetadata(fn));
  const invocationModel = await programmingModel.getInvocationModel(coreCtx);
  const { context, inputs } = await invocationModel.getArguments();
  coreCtx.invocationContext = context;

  const hookData: HookData = {};
  const preContext: PreInvocationContext = {
    hookData,
    appHookData: app.appHookData,
    invocationContext: context,
    inputs,
    functionCallback: fn.callback,
  };
  await withState(coreCtx, 'preInvocationHooks', () => app.executeHooks('preInvocation', preContext));

  const postContext: PostInvocationContext = {
    hookData,
    appHookData: app.appHookData,
    invocationContext: context,
    inputs: preContext.inputs,
    result: null,
    error: null,
  };
  await withState(coreCtx, 'invocation', async () => {
    try {
      postContext.result = await invocationModel.invokeFunction(
        context,
        preContext.inputs,
        preContext.functionCallback,
      );
    } catch (err) {
      postContext.error = err;
    }
  });
  await withState(coreCtx, 'postInvocationHooks', () => app.executeHooks('postInvocation', postContext));

  // Rethrow whatever the handler threw (or a postInvocation hook put there), unchanged, like the worker.
  // eslint-disable-next-line @typescript-eslint/only-throw-error
  if (postContext.error !== null && postContext.error !== undefined) throw postContext.error;
  const response = await invocationModel.getResponse(context, postContext.result);
  return { response, result: postContext.result };
}

async function withState(ctx: LocalCoreInvocationContext, state: InvocationState, run: () => Promise<void>) {
  ctx.state = state;
  try {
    await run();
  } finally {
    ctx.state = undefined;
  }
}

/** The worker builds RPC metadata from the registration: `bindings`, plus `rawBindings` for the host. */
function toRpcMetadata(fn: RegisteredFunction): RpcFunctionMetadata {
  return {
    name: fn.name,
    functionId: fn.id,
    bindings: { ...fn.bindings },
    rawBindings: Object.entries(fn.bindings).map(([name, binding]) => JSON.stringify({ ...binding, name })),
    scriptFile: 'n/a',
    retryOptions: fn.retryOptions,
  };
}

class LocalCoreInvocationContext implements CoreInvocationContext {
  readonly invocationId: string;
  readonly request: RpcInvocationRequest;
  readonly metadata: RpcFunctionMetadata;
  state?: InvocationState;
  invocationContext: unknown;
  readonly #app: FunctionAppState;

  constructor(
    app: FunctionAppState,
    request: RpcInvocationRequest & { invocationId: string },
    metadata: RpcFunctionMetadata,
  ) {
    this.#app = app;
    this.invocationId = request.invocationId;
    this.request = request;
    this.metadata = metadata;
  }

  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    this.#app.log({
      level,
      category,
      message,
      invocationId: this.invocationId,
      functionName: this.metadata.name ?? undefined,
      invocationContext: this.invocationContext,
    });
  }
}
