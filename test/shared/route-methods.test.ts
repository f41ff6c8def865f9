import { describe, expect, it } from 'vitest';
import { allowedMethods, templateMatches } from '../../shared/http/route-methods';

describe('templateMatches', () => {
  it.each([
    ['chat', 'chat', true],
    ['chat', 'CHAT', true],
    ['chat', 'chat/stream', false],
    ['chat/stream', 'chat', false],
    ['conversations/{id}', 'conversations/abc', true],
    ['conversations/{id}', 'conversations', false],
    ['conversations/{id}', 'conversations/abc/more', false],
    ['items/{id:int}', 'items/abc', true],
    ['items/{id?}', 'items', true],
    ['web/{*path}', 'web', true],
    ['web/{*path}', 'web/a/b.css', true],
    ['web/{*path}', 'webx/a', false],
    ['v1/chat/completions', 'v1/chat/completions/', true],
  ])('%s fits %s: %s', (template, path, expected) => {
    expect(templateMatches(template, path)).toBe(expected);
  });
});

describe('allowedMethods', () => {
  const routes = [
    { template: 'conversations', methods: ['GET'] },
    { template: 'conversations', methods: ['delete'] },
    { template: 'conversations/{id}', methods: ['GET', 'PATCH'] },
  ];

  it('unites the methods of every route that fits, upper case, without duplicates', () => {
    expect(allowedMethods(routes, 'conversations')).toEqual(['GET', 'DELETE']);
    expect(allowedMethods([...routes, { template: 'conversations/{x}', methods: ['GET'] }], 'conversations/a')).toEqual(
      ['GET', 'PATCH'],
    );
  });

  it('gives none for a path no route fits', () => {
    expect(allowedMethods(routes, 'nope')).toEqual([]);
  });
});
