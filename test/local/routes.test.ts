import { describe, expect, it } from 'vitest';
import { compareRoutePrecedence, compileRoute, fullRouteTemplate } from '../../local/host/routes';

describe('fullRouteTemplate', () => {
  it.each([
    ['api', 'items', 'api/items'],
    ['api', '/items/', 'api/items'],
    ['', 'items/{id}', 'items/{id}'],
    ['/v1/', 'x', 'v1/x'],
  ])('joins prefix %j and route %j into %j', (prefix, route, expected) => {
    expect(fullRouteTemplate(prefix, route)).toBe(expected);
  });
});

describe('compileRoute', () => {
  it.each([
    ['api/items/{id}', '/api/items/42', { id: '42' }],
    ['api/items/{id}', '/API/ITEMS/42/', { id: '42' }],
    ['api/items/{id}', '/api/items', undefined],
    ['api/items/{id}', '/api/items/1/2', undefined],
    ['api/items/{id?}', '/api/items', {}],
    ['api/items/{id?}', '/api/items/5', { id: '5' }],
    ['api/items/{id:int}', '/api/items/abc', undefined],
    ['api/items/{id:int}', '/api/items/-3', { id: '-3' }],
    [
      'api/items/{id:guid}',
      '/api/items/0f8fad5b-d9cb-469f-a165-70867728950e',
      { id: '0f8fad5b-d9cb-469f-a165-70867728950e' },
    ],
    ['api/pages/{page=1}', '/api/pages', { page: '1' }],
    ['api/files/{*path}', '/api/files/a/b/c.txt', { path: 'a/b/c.txt' }],
    ['api/files/{*path}', '/api/files', {}],
    ['api/files/{name}.{ext}', '/api/files/report.pdf', { name: 'report', ext: 'pdf' }],
    ['api/hello', '/api/hello', {}],
    ['api/hello', '/api/hello/x', undefined],
    ['api/say/{word}', '/api/say/hello%20world', { word: 'hello world' }],
  ])('matches template %j against %j as %j', (template, pathname, expected) => {
    expect(compileRoute(template).match(pathname)).toEqual(expected);
  });

  it('rejects a catch-all that is not the last segment', () => {
    expect(() => compileRoute('api/{*rest}/x')).toThrow(/Catch-all/);
  });

  it('rejects a malformed parameter', () => {
    expect(() => compileRoute('api/{9bad}')).toThrow(/Invalid route parameter/);
  });

  it('orders literal before constrained before plain before optional before catch-all segments', () => {
    const templates = ['api/{*rest}', 'api/{id?}', 'api/{id}', 'api/{id:int}', 'api/items'];
    const sorted = templates.map(compileRoute).sort(compareRoutePrecedence);
    expect(sorted.map((r) => r.template)).toEqual([
      'api/items',
      'api/{id:int}',
      'api/{id}',
      'api/{id?}',
      'api/{*rest}',
    ]);
  });
});
