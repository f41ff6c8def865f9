/**
 * Which methods a path's routes take, for the catch-all's 405 (`Allow`). The Functions host answers a known route
 * asked with another method as if the route did not exist: it hands the request to the next route that matches,
 * here the catch-all (`functions/zz-not-found.ts`), which uses the table the function files filled in as they
 * registered (`shared/functions-app.ts`).
 */

/** One registered HTTP route: its template without the route prefix (`conversations/{id}`) and its methods. */
export interface RouteEntry {
  readonly template: string;
  /** Upper case. */
  readonly methods: readonly string[];
}

/**
 * Whether `path` (without the route prefix or leading slash, e.g. `conversations/abc`) fits `template`: `{name}`
 * (constraints such as `{id:int}` and defaults ignored: an unmet constraint still names a known route) takes one
 * segment, `{name?}` and `{*name}` may take none, `{*name}` takes the rest. Literals compare case-insensitively, as
 * ASP.NET routing does.
 */
export function templateMatches(template: string, path: string): boolean {
  const parts = template.split('/').filter((p) => p.length > 0);
  const segments = path.split('/').filter((s) => s.length > 0);
  for (const [i, part] of parts.entries()) {
    if (/^\{\*.*\}$/.test(part)) return true;
    const segment = segments[i];
    if (segment === undefined) return /^\{[^}]*\?\}$/.test(part) && i === parts.length - 1;
    if (/^\{.*\}$/.test(part)) continue;
    if (part.toLowerCase() !== segment.toLowerCase()) return false;
  }
  return segments.length === parts.length;
}

/** The methods of every route whose template fits `path` (upper case, in registration order, no duplicates). */
export function allowedMethods(routes: readonly RouteEntry[], path: string): readonly string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (templateMatches(route.template, path)) for (const m of route.methods) methods.add(m.toUpperCase());
  }
  return [...methods];
}
