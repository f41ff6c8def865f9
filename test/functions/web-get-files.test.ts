import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebHandler } from '../../functions/web-get';
import { header } from './http';

let root: string;
let web: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'web-get-'));
  web = path.join(root, 'web');
  fs.mkdirSync(web);
  fs.writeFileSync(path.join(web, 'index.html'), '<p>hi</p>');
  fs.writeFileSync(path.join(root, 'secret.js'), 'const key = "s3cret";');
  fs.symlinkSync(path.join(root, 'secret.js'), path.join(web, 'leak.js'));
  fs.mkdirSync(path.join(web, 'folder.css'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function request(method: 'GET' | 'HEAD', name: string): HttpRequest {
  return new HttpRequest({ method, url: `http://localhost:7071/api/web/${name}`, params: { path: name } });
}

describe('the demo page files', () => {
  it('answers HEAD as GET would, with the same headers and length but no body', async () => {
    const handler = createWebHandler({ directory: web, signIn: { kind: 'none' }, vendor: {} });
    const get = await handler(request('GET', 'index.html'));
    const head = await handler(request('HEAD', 'index.html'));
    expect(head.status).toBe(200);
    expect(head.headers).toEqual(get.headers);
    expect(header(head, 'content-length')).toBe('9');
    expect(head.body).toBeUndefined();
    expect(get.body).toEqual(Buffer.from('<p>hi</p>'));
  });

  it.each([
    ['a symbolic link to a file outside the folder', 'leak.js'],
    ['a folder with a file-like name', 'folder.css'],
  ])('answers 404 for %s, to GET and to HEAD', async (_name, file) => {
    const handler = createWebHandler({ directory: web, signIn: { kind: 'none' }, vendor: {} });
    expect((await handler(request('GET', file))).status).toBe(404);
    expect((await handler(request('HEAD', file))).status).toBe(404);
  });
});
