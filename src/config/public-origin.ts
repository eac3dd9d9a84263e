import { isIP } from 'node:net';
import type { Config } from './schema.js';

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::']);

type OriginFields = Pick<Config, 'public_url' | 'public_host' | 'public_ip' | 'router_ip' | 'router_port' | 'tls_cert_file'>;

/** The host a browser reaches the gateway at, when no public_url says so. */
function publicHost(config: OriginFields): string {
  const host = config.public_host ?? config.public_ip ?? (WILDCARD_ADDRESSES.has(config.router_ip) ? 'localhost' : config.router_ip);
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Origin (no trailing slash) used in console URLs and as the websocket's expected Origin. */
export function publicOrigin(config: OriginFields): string {
  if (config.public_url !== undefined) return config.public_url;
  const scheme = config.tls_cert_file !== undefined ? 'https' : 'http';
  // URL drops a scheme's default port, as browsers do in the Origin header.
  return new URL(`${scheme}://${publicHost(config)}:${config.router_port}`).origin;
}

/** The same origin on another port (a session's own port with `session_ports`). */
export function originWithPort(origin: string, port: number): string {
  const url = new URL(origin);
  url.port = String(port);
  return url.origin;
}

/** True when publicOrigin can only guess: the gateway listens on every address and was told no name. */
export function publicOriginIsGuessed(config: OriginFields): boolean {
  return config.public_url === undefined && config.public_host === undefined && config.public_ip === undefined && WILDCARD_ADDRESSES.has(config.router_ip);
}
