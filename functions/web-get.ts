import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { app } from '../shared/functions-app';

export interface WebHandlerDeps {
  /** Folder holding the demo page's files (`web/` at the function app root). */
  readonly directory: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * GET /api/web/{*path}: the demo chat page (`web/`), so `npm start` shows it at /api/web/. Only plain
 * file names with a known extension are served; anything else (sub-folders, `..`) is a 404.
 */
export function createWebHandler(deps: WebHandlerDeps) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const name = request.params.path ?? '';
    // The page links its files relatively: /api/web must become /api/web/ for them to resolve.
    if (name === '' && !new URL(request.url).pathname.endsWith('/')) {
      return { status: 301, headers: { location: 'web/' } };
    }
    const file = name === '' ? 'index.html' : name;
    const type = CONTENT_TYPES[path.extname(file)];
    if (!/^[\w-]+\.\w+$/.test(file) || type === undefined) return { status: 404 };
    try {
      const body = await fs.promises.readFile(path.join(deps.directory, file));
      return {
        status: 200,
        headers: {
          'content-type': type,
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'self'",
        },
        body,
      };
    } catch {
      return { status: 404 };
    }
  };
}

/**
 * The function app root is the nearest folder above this file with a host.json: the repository when run
 * from source (`functions/`), the deployed app when compiled (`dist/functions/`), as `.funcignore` keeps `web/`.
 */
export function appRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'host.json'))) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

app.http('web-get', {
  route: 'web/{*path}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: createWebHandler({ directory: path.join(appRoot(__dirname), 'web') }),
});
