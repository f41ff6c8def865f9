/**
 * Route templates as the Functions host understands them (ASP.NET routing): literal segments,
 * `{name}`, optional `{name?}`, catch-all `{*rest}`, constraints `{id:int}`, defaults `{page=1}`,
 * and parameters mixed with literals inside a segment (`{file}.{ext}`). Matching is case-insensitive
 * and ignores a trailing slash.
 */

type Part =
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'param';
      readonly name: string;
      readonly optional: boolean;
      readonly catchAll: boolean;
      readonly constraint: string | undefined;
      readonly defaultValue: string | undefined;
    };

export interface CompiledRoute {
  /** The full template, prefix included, without leading slash (`api/items/{id}`). */
  readonly template: string;
  readonly paramNames: readonly string[];
  /** Lower ranks win; compared segment by segment (literal < constrained < plain < optional < catch-all). */
  readonly precedence: readonly number[];
  match(pathname: string): Record<string, string> | undefined;
}

const constraintPatterns: Readonly<Record<string, string>> = {
  int: '-?\\d+',
  long: '-?\\d+',
  alpha: '[A-Za-z]+',
  bool: '(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])',
  guid: '[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}',
  decimal: '-?\\d+(?:\\.\\d+)?',
  double: '-?\\d+(?:\\.\\d+)?',
  float: '-?\\d+(?:\\.\\d+)?',
};

/** Joins the route prefix (`api`, or empty) and the function's route (default: the function name). */
export function fullRouteTemplate(routePrefix: string, route: string): string {
  const trim = (s: string) => s.replace(/^\/+|\/+$/g, '');
  return [trim(routePrefix), trim(route)].filter((s) => s.length > 0).join('/');
}

export function compileRoute(template: string): CompiledRoute {
  const segments = template.split('/').filter((s) => s.length > 0);
  const paramNames: string[] = [];
  const precedence: number[] = [];
  let source = '';
  segments.forEach((segment, index) => {
    const parts = parseSegment(segment, template);
    const params = parts.filter((p) => p.kind === 'param');
    const only = parts.length === 1 ? params[0] : undefined;
    for (const p of params) paramNames.push(p.name);
    if (only?.catchAll) {
      if (index !== segments.length - 1) throw new Error(`Catch-all must be the last segment in route "${template}".`);
      source += `(?:/(.*))?`;
      precedence.push(4);
    } else if (only?.optional || only?.defaultValue !== undefined) {
      source += `(?:/(${paramPattern(only)}))?`;
      precedence.push(3);
    } else {
      source += '/' + parts.map((p) => (p.kind === 'literal' ? escapeRegExp(p.text) : `(${paramPattern(p)})`)).join('');
      precedence.push(params.length === 0 ? 0 : only?.constraint ? 1 : 2);
    }
  });
  const regex = new RegExp(`^${source}/?$`, 'i');
  const allParams = segments.flatMap((s) => parseSegment(s, template)).filter((p) => p.kind === 'param');

  return {
    template: segments.join('/'),
    paramNames,
    precedence,
    match(pathname) {
      const m = regex.exec(pathname.replace(/\/{2,}/g, '/'));
      if (!m) return undefined;
      const params: Record<string, string> = {};
      allParams.forEach((p, i) => {
        const raw = m[i + 1];
        const value = raw === undefined || raw === '' ? p.defaultValue : safeDecode(raw);
        if (value !== undefined) params[p.name] = value;
      });
      return params;
    },
  };
}

/** Orders routes so that the most specific template is tried first (ASP.NET route precedence). */
export function compareRoutePrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.min(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const diff = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return b.precedence.length - a.precedence.length;
}

function parseSegment(segment: string, template: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([^}]*)\}/g;
  let last = 0;
  for (let m = re.exec(segment); m; m = re.exec(segment)) {
    if (m.index > last) parts.push({ kind: 'literal', text: segment.slice(last, m.index) });
    parts.push(parseParam(m[1] ?? '', template));
    last = m.index + m[0].length;
  }
  if (last < segment.length) parts.push({ kind: 'literal', text: segment.slice(last) });
  return parts;
}

function parseParam(body: string, template: string): Part {
  const m = /^(\*{1,2})?([A-Za-z_][\w-]*)(?::([^=?]+))?(?:=([^?]*))?(\?)?$/.exec(body.trim());
  if (!m || !m[2]) throw new Error(`Invalid route parameter "{${body}}" in route "${template}".`);
  return {
    kind: 'param',
    name: m[2],
    catchAll: m[1] !== undefined,
    constraint: m[3]?.split(':')[0]?.toLowerCase(),
    defaultValue: m[4],
    optional: m[5] !== undefined,
  };
}

function paramPattern(p: Extract<Part, { kind: 'param' }>): string {
  return (p.constraint && constraintPatterns[p.constraint]) ?? '[^/]+?';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
