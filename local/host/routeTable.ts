/**
 * The route table: one entry per registered HTTP trigger, most specific route first, and the lookup of the
 * function for a method and path.
 */
import { toAuthLevel, type AuthLevel } from './auth';
import type { FunctionAppState, RegisteredFunction } from './coreApi';
import type { RpcBindingInfo } from './coreTypes';
import type { LocalHostLogger } from './logger';
import { compareRoutePrecedence, compileRoute, fullRouteTemplate, type CompiledRoute } from './routes';

export interface HttpFunctionInfo {
  readonly name: string;
  /** Full route template including the prefix, with a leading slash: `/api/items/{id}`. */
  readonly route: string;
  /** Upper-case HTTP methods the function accepts. */
  readonly methods: readonly string[];
  readonly authLevel: AuthLevel;
}

export interface HttpRoute {
  readonly info: HttpFunctionInfo;
  readonly fn: RegisteredFunction;
  readonly route: CompiledRoute;
  /** Name of the httpTrigger binding. */
  readonly triggerName: string;
  /** Name of the HTTP output binding (`$return` unless the function declares a named one). */
  readonly httpOutputName: string;
  /** The binding names no methods: every method matches. */
  readonly anyMethod: boolean;
}

export interface RouteMatch {
  readonly route: HttpRoute;
  readonly params: Readonly<Record<string, string>>;
}

const allMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'];

/** The HTTP-triggered functions, most specific route first; other triggers are logged and left out. */
export function buildRouteTable(app: FunctionAppState, routePrefix: string, logger: LocalHostLogger): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const fn of app.functions.values()) {
    const route = toHttpRoute(fn, routePrefix);
    if (route) routes.push(route);
    else logger.warn(`Function '${fn.name}' (${triggerType(fn)}) is registered but not run by the local host.`);
  }
  return routes.sort((a, b) => compareRoutePrecedence(a.route, b.route));
}

/** The host answers 404 (not 405) when no function matches both method and route. */
/**
 * The methods of the most specific route whose template matches `pathname`, whatever the method: what a
 * CORS preflight for that path may be allowed (the catch-all only answers when nothing else matches).
 */
export function methodsForPath(routes: readonly HttpRoute[], pathname: string): readonly string[] {
  return routes.find((route) => route.route.match(pathname) !== undefined)?.info.methods ?? [];
}

export function matchRoute(routes: readonly HttpRoute[], method: string, pathname: string): RouteMatch | undefined {
  for (const route of routes) {
    if (!route.anyMethod && !route.info.methods.includes(method)) continue;
    const params = route.route.match(pathname);
    if (params) return { route, params };
  }
  return undefined;
}

function toHttpRoute(fn: RegisteredFunction, routePrefix: string): HttpRoute | undefined {
  const bindings = Object.entries(fn.bindings);
  const trigger = bindings.find(([, b]) => b.type?.toLowerCase() === 'httptrigger');
  if (!trigger) return undefined;
  const [triggerName, binding] = trigger;
  const route = compileRoute(fullRouteTemplate(routePrefix, stringOption(binding, 'route') ?? fn.name));
  const declared = Array.isArray(binding.methods) ? binding.methods.map((m) => String(m).toUpperCase()) : [];
  const httpOutput = bindings.find(([, b]) => b.direction === 'out' && b.type?.toLowerCase() === 'http');
  return {
    fn,
    triggerName,
    httpOutputName: httpOutput?.[0] ?? '$return',
    route,
    anyMethod: declared.length === 0,
    info: {
      name: fn.name,
      route: `/${route.template}`,
      methods: declared.length === 0 ? allMethods : declared,
      authLevel: toAuthLevel(binding.authLevel),
    },
  };
}

function triggerType(fn: RegisteredFunction): string {
  const trigger = Object.values(fn.bindings).find((b) => b.direction === 'in' && b.type?.endsWith('Trigger'));
  return trigger?.type ?? 'unknown trigger';
}

function stringOption(binding: RpcBindingInfo, name: string): string | undefined {
  const value = binding[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
