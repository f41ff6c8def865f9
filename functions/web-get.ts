import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { webSignIn, type WebSignIn } from '../shared/auth/web-sign-in';
import { app } from '../shared/functions-app';
import { storeSetting } from '../shared/quota/settings';
import type { Env } from '../shared/settings';

export interface WebHandlerDeps {
  /** Folder holding the demo page's files (`web/` at the function app root). */
  readonly directory: string;
  /** How the page signs its user in, served as `config.json`. */
  readonly signIn: WebSignIn;
  /** Files served at `vendor/<name>`: name to absolute path (browser builds of npm packages). */
  readonly vendor: Readonly<Record<string, string>>;
  /** Whether the backend keeps conversations (a store is configured), served in `config.json`; default false. */
  readonly conversations?: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * GET /api/web/{*path}: the demo chat page (`web/`), so `npm start` shows it at /api/web/; `config.json`,
 * how the page signs in and whether it may list conversations (without a store it would only get 503s); `vendor/<name>`, the browser builds in {@link WebHandlerDeps.vendor}. Only plain
 * files with a plain name and a known extension are served from `web/`; anything else (sub-folders, `..`,
 * a symbolic link, a device or pipe) is a 404. HEAD answers as GET would, without the body.
 */
export function createWebHandler(deps: WebHandlerDeps) {
  const headers = pageHeaders(deps.signIn);
  const config = Buffer.from(JSON.stringify({ signIn: deps.signIn, conversations: deps.conversations ?? false }));
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const name = request.params.path ?? '';
    // The page links its files relatively: /api/web must become /api/web/ for them to resolve.
    if (name === '' && !new URL(request.url).pathname.endsWith('/')) {
      return { status: 301, headers: { location: 'web/' } };
    }
    const head = request.method === 'HEAD';
    if (name === 'config.json') return fileResponse(config, { ...headers, 'content-type': JSON_TYPE }, head);
    const file = filePath(deps, name === '' ? 'index.html' : name);
    const type = file && CONTENT_TYPES[path.extname(file)];
    if (file === undefined || type === undefined) return { status: 404 };
    const body = await readPlainFile(file);
    if (body === undefined) return { status: 404 };
    return fileResponse(body, { ...headers, 'content-type': type }, head);
  };
}

function fileResponse(body: Buffer, headers: Record<string, string>, head: boolean): HttpResponseInit {
  return {
    status: 200,
    headers: { ...headers, 'content-length': String(body.byteLength) },
    ...(head ? {} : { body }),
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

/** The file a name stands for: a vendor file by its listed name, else a plain name in `web/`. */
function filePath(deps: WebHandlerDeps, name: string): string | undefined {
  if (name.startsWith('vendor/')) return deps.vendor[name.slice('vendor/'.length)];
  return /^[\w-]+\.\w+$/.test(name) ? path.join(deps.directory, name) : undefined;
}

function pageHeaders(signIn: WebSignIn): Record<string, string> {
  return {
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': contentSecurityPolicy(signIn),
  };
}

/**
 * The page's own origin only, plus where its sign-in must reach: the local provider's token endpoint
 * (fetch), or the Entra authority (MSAL fetches its metadata and tokens, and renews in a hidden iframe).
 * The MSAL popup is a new window, which the opener's policy does not govern.
 */
export function contentSecurityPolicy(signIn: WebSignIn): string {
  const self = "default-src 'self'";
  switch (signIn.kind) {
    case 'none':
      return self;
    case 'local':
      return `${self}; connect-src 'self' ${new URL(signIn.tokenUrl).origin}`;
    case 'msal': {
      const authority = new URL(signIn.authority).origin;
      return `${self}; connect-src 'self' ${authority}; frame-src ${authority}`;
    }
  }
}

/**
 * Whether a conversation store is configured. A bad storage setting counts as none here: the chat functions
 * report it, and the page must still load to show their errors.
 */
export function storesConversations(env: Env): boolean {
  try {
    return storeSetting(env).kind !== 'none';
  } catch {
    return false;
  }
}

/**
 * MSAL's browser builds (UMD: they define the globals `msal` and `msalRedirectBridge`), read from
 * node_modules at run time: the package is a dependency, deployed with the app, never copied into `web/`.
 */
export function msalVendorFiles(): Readonly<Record<string, string>> {
  const lib = path.join(path.dirname(require.resolve('@azure/msal-browser/package.json')), 'lib');
  return Object.freeze({
    'msal-browser.js': path.join(lib, 'msal-browser.min.js'),
    'msal-redirect-bridge.js': path.join(lib, 'redirect-bridge', 'msal-redirect-bridge.min.js'),
  });
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
  handler: createWebHandler({
    directory: path.join(appRoot(__dirname), 'web'),
    signIn: webSignIn(process.env),
    vendor: msalVendorFiles(),
    conversations: storesConversations(process.env),
  }),
});
