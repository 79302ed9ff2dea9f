// The retrieval server's checks on who may call it: the Host (and Origin) header against the names the server
// answers to (against DNS rebinding and cross-site requests), the bearer token, and the JSON content type.
// Routing, body limits and the search itself are server.ts's business.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

/** Host names a server bound to `address` answers to when `allowedHosts` adds nothing. Lower case, no port. */
export function defaultAllowedHosts(address: string): Set<string> {
  const bound = normaliseHost(address);
  const loopback = ['localhost', '127.0.0.1', '::1'];
  if (isLoopback(bound)) return new Set([bound, ...loopback]);
  const names = new Set([bound, hostname().toLowerCase()]);
  if (bound === '0.0.0.0' || bound === '::') {
    // A wildcard bind answers on every interface: every local address is a name it can legitimately be given.
    for (const name of loopback) names.add(name);
    for (const entries of Object.values(networkInterfaces())) {
      for (const entry of entries ?? []) names.add(normaliseHost(entry.address));
    }
  }
  return names;
}

/** True for addresses only this machine can reach. */
export function isLoopback(address: string): boolean {
  const host = normaliseHost(address);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';
}

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`), lower case; undefined when malformed. */
export function hostOfHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim().toLowerCase();
  const match = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(text) ?? /^([^:\s/[\]]+)(?::\d{1,5})?$/.exec(text);
  return match ? match[1] : undefined;
}

/** The host name of an Origin header value (`http://name:port`); undefined when it is not a URL ("null"). */
export function hostOfOrigin(value: string): string | undefined {
  try {
    return normaliseHost(new URL(value).hostname);
  } catch {
    return undefined;
  }
}

function normaliseHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

/**
 * Checks a request's Host and Origin headers against `allowed` (undefined: any host). Returns why it is refused,
 * or undefined when it is fine. A browser page on another site sends its own Origin; a DNS-rebinding page sends
 * its own host name in Host: both are refused.
 */
export function hostProblem(headers: { host?: string; origin?: string }, allowed: Set<string> | undefined): string | undefined {
  if (allowed === undefined) return undefined;
  const host = hostOfHeader(headers.host);
  if (host === undefined || !allowed.has(host)) {
    return `Host ${JSON.stringify(headers.host ?? '')} is not one this server answers to (${[...allowed].join(', ')}); start it with --allowed-hosts to add names`;
  }
  if (headers.origin !== undefined) {
    const origin = hostOfOrigin(headers.origin);
    if (origin === undefined || !allowed.has(origin)) return `cross-origin requests are refused (Origin ${JSON.stringify(headers.origin)})`;
  }
  return undefined;
}

/** Compares an Authorization header with `Bearer <token>` in constant time (digests of equal length). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

/** True when a Content-Type header says JSON (`application/json`, optionally with parameters such as charset). */
export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && /^application\/json\s*(;|$)/i.test(header.trim());
}
