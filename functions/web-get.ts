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
 * files with a plain name and a known extension are served; anything else (sub-folders, `..`, a symbolic
 * link, a device or pipe) is a 404. HEAD answers as GET would, without the body.
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
    const body = await readPlainFile(path.join(deps.directory, file));
    if (body === undefined) return { status: 404 };
    return {
      status: 200,
      headers: {
        'content-type': type,
        'content-length': String(body.byteLength),
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'self'",
      },
      ...(request.method === 'HEAD' ? {} : { body }),
    };
  };
}

// O_NOFOLLOW: a symbolic link planted in web/ must not serve a file from elsewhere (absent on Windows: 0).
const openFlags = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0);

/** The file's bytes, or undefined when it is missing, a symbolic link, or not a regular file. */
async function readPlainFile(file: string): Promise<Buffer | undefined> {
  try {
    // lstat first: opening a FIFO would block; then the open itself refuses a link swapped in meanwhile.
    if (!(await fs.promises.lstat(file)).isFile()) return undefined;
    const handle = await fs.promises.open(file, openFlags);
    try {
      return (await handle.stat()).isFile() ? await handle.readFile() : undefined;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
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
  methods: ['GET', 'HEAD'],
  authLevel: 'anonymous',
  handler: createWebHandler({ directory: path.join(appRoot(__dirname), 'web') }),
});
