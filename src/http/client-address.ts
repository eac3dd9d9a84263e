import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type ProxyTrust = false | string[] | ((address: string, hop: number) => boolean);

/**
 * `trust_proxy` as Fastify and proxy-addr take it. `true` trusts one hop, the proxy in front: its
 * X-Forwarded-For entry (the right-most) is the client. Believing the left-most would let any
 * client name its own address to the throttles.
 */
export function proxyTrust(trustProxy: boolean | string[]): ProxyTrust {
  return trustProxy === true ? (_address: string, hop: number) => hop < 1 : trustProxy;
}

/** The client of a request Fastify does not see (a websocket upgrade), judged as Fastify's `request.ip` is. */
export function clientAddressOf(trust: ProxyTrust): (request: IncomingMessage) => string {
  if (trust === false) return (request) => request.socket.remoteAddress ?? '';
  const compiled = typeof trust === 'function' ? trust : proxyAddr.compile(trust);
  return (request) => proxyAddr(request, compiled);
}
