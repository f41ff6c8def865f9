/* eslint-disable @typescript-eslint/no-unsafe-return --
   ARM template JSON is untyped; these helpers and tests walk it as `any` on purpose. */
/**
 * Walks the compiled main template the way Resource Manager would, module by module, with the
 * expression evaluator in arm.ts: module parameters, variables, resources and outputs, using stubs
 * for the values only Azure knows (principal ids, endpoints, host names).
 */
import type { Json, Scope, Template } from './arm.js';
import { evaluate, evaluateModuleParameters, evaluateVariables, withDefaults } from './arm.js';

export interface EvaluatedModule {
  readonly symbol: string;
  /** Whether the module's condition holds (a module without one is always deployed). */
  readonly deployed: boolean;
  readonly template: Template;
  readonly parameters: Record<string, Json>;
  readonly scope: Scope;
  readonly outputs: Record<string, Json>;
}

export interface Deployment {
  readonly parameters: Record<string, Json>;
  readonly variables: Record<string, Json>;
  readonly modules: Record<string, EvaluatedModule>;
  readonly outputs: Record<string, Json>;
}

/** What `reference()` of a resource returns in these tests; every value names the resource. */
export function resourceStub(name: string): Json {
  return {
    principalId: `principalId(${name})`,
    clientId: `clientId(${name})`,
    endpoint: `https://${name}.openai.azure.com/`,
    vaultUri: `https://${name}.vault.azure.net/`,
    ConnectionString: `InstrumentationKey=ikey(${name});IngestionEndpoint=https://eastus2.in.applicationinsights.azure.com/`,
    defaultHostName: `${name}.azurewebsites.net`,
    frontDoorId: `frontDoorId(${name})`,
    hostName: `${name}-hash.z01.azurefd.net`,
    primaryEndpoints: {
      blob: `https://${name}.blob.core.windows.net/`,
      table: `https://${name}.table.core.windows.net/`,
    },
  };
}

/** An output's value; an output loop (`copy`) becomes an array. */
function evaluateOutput(output: Json, scope: Scope): Json {
  if (!output.copy) return evaluate(output.value, scope);
  const count = evaluate(output.copy.count, scope) as number;
  return Array.from({ length: count }, (_, i) => evaluate(output.copy.input, { ...scope, copyIndex: i }));
}

function evaluateModule(symbol: string, module: Json, outer: Scope): EvaluatedModule {
  const template = module.properties.template as Template;
  const given = evaluateModuleParameters(module, outer);
  const noRef = () => {
    throw new Error('reference() in a parameter default');
  };
  const parameters = withDefaults(template, given, { variables: {}, reference: noRef });
  const base = { parameters, reference: noRef };
  const variables = evaluateVariables(template, base);
  const scope: Scope = {
    parameters,
    variables,
    reference: (resourceSymbol: string) => {
      // A member of a resource loop is referenced as 'symbol[index]'.
      const [, loopSymbol, index] = /^(.*)\[(\d+)\]$/.exec(resourceSymbol) ?? [undefined, resourceSymbol];
      const resource = template.resources[loopSymbol];
      if (!resource) throw new Error(`module ${symbol} has no resource ${resourceSymbol}`);
      const at = {
        parameters,
        variables,
        reference: noRef,
        ...(index === undefined ? {} : { copyIndex: Number(index) }),
      };
      const name = String(evaluate(resource.name, at)).split('/').pop()!;
      return resourceStub(name);
    },
  };
  const outputs = Object.fromEntries(
    Object.entries(template.outputs ?? {}).map(([name, output]) => [name, evaluateOutput(output, scope)]),
  );
  const deployed = module.condition === undefined ? true : Boolean(evaluate(module.condition, outer));
  return { symbol, deployed, template, parameters: given, scope, outputs };
}

/** Evaluates main.json with the given parameter values (defaults filled in). */
export function evaluateDeployment(template: Template, given: Record<string, Json>): Deployment {
  const modules: Record<string, EvaluatedModule> = {};
  const reference = (symbol: string) => {
    const module = modules[symbol];
    if (!module) throw new Error(`module ${symbol} referenced before it was evaluated`);
    return { outputs: Object.fromEntries(Object.entries(module.outputs).map(([k, v]) => [k, { value: v }])) };
  };
  const parameters = withDefaults(template, given, { variables: {}, reference });
  const variables = evaluateVariables(template, { parameters, reference });
  const scope: Scope = { parameters, variables, reference };

  // Declaration order is dependency order in main.bicep.
  for (const [symbol, resource] of Object.entries(template.resources)) {
    if (resource.type !== 'Microsoft.Resources/deployments') continue;
    if (resource.copy) {
      const count = evaluate(resource.copy.count, scope) as number;
      for (let i = 0; i < count; i++) {
        modules[`${symbol}[${i}]`] = evaluateModule(`${symbol}[${i}]`, resource, { ...scope, copyIndex: i });
      }
    } else {
      modules[symbol] = evaluateModule(symbol, resource, scope);
    }
  }
  const outputs = Object.fromEntries(
    Object.entries(template.outputs ?? {}).map(([name, output]) => [name, evaluateOutput(output, scope)]),
  );
  return { parameters, variables, modules, outputs };
}

/** Evaluates one resource of a module (its properties, name, scope, condition). */
export function evaluateResource(module: EvaluatedModule, resourceSymbol: string, copyIndex?: number): Json {
  const resource = module.template.resources[resourceSymbol];
  if (!resource) throw new Error(`module ${module.symbol} has no resource ${resourceSymbol}`);
  const { copy: _copy, ...rest } = resource;
  return evaluate(rest, copyIndex === undefined ? module.scope : { ...module.scope, copyIndex });
}

/** How many copies a resource loop of a module makes (undefined: the resource is not a loop). */
export function copyCount(module: EvaluatedModule, resourceSymbol: string): number | undefined {
  const copy = module.template.resources[resourceSymbol]?.copy;
  return copy ? (evaluate(copy.count, module.scope) as number) : undefined;
}

/** Every copy of a resource (one for a resource that is not a loop), evaluated. */
export function evaluateCopies(module: EvaluatedModule, resourceSymbol: string): Json[] {
  const count = copyCount(module, resourceSymbol);
  return count === undefined
    ? [evaluateResource(module, resourceSymbol)]
    : Array.from({ length: count }, (_, i) => evaluateResource(module, resourceSymbol, i));
}
