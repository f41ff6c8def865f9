/**
 * DNS rebinding defence: the host answers only requests whose `Host` names this machine. A page on
 * `http://attacker.example` whose name the attacker then points at 127.0.0.1 is same-origin with the developer's
 * local backend as far as the browser knows, so it could read every answer (the local key is well known, and the
 * sign-in provider signs for anyone). Such a request still says `Host: attacker.example`, and is refused here.
 * Loopback names and IP literals are accepted (rebinding needs a name); other names only when listed (a bind
 * address that is a name, `LOCAL_ALLOWED_HOSTS` under `npm start`). Compare Vite's `server.allowedHosts`:
 * https://vite.dev/config/server-options#server-allowedhosts
 */
import { isIP } from 'node:net';

/** The name of a `Host` header value, lower case, without port or trailing dot; undefined when it is not one. */
export function hostName(header: string): string | undefined {
  const value = header.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) return bracketed[1];
  const named = /^([a-z0-9._-]+?)\.?(?::\d{1,5})?$/.exec(value);
  return named?.[1];
}

/**
 * Whether a request with this `Host` may be answered. No header at all (HTTP/1.0) names nothing a browser could
 * have rebound, so it passes; the HTTP/1.1 parser already refuses a request that lacks it.
 */
export function isAllowedHost(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined) return true;
  const name = hostName(header);
  if (name === undefined) return false;
  if (name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0) return true;
  return allowed.some((host) => host.trim().toLowerCase().replace(/\.$/, '') === name);
}
