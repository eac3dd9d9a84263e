import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { adoptSocket, type SimState } from '../state.js';
import type { TlsMaterial } from '../tls.js';
import { dispatch } from './dispatch.js';
import { readParams, writeAnswer, writeRawAnswer, type Exchange } from './exchange.js';
import { TAKEN_OVER, type Route } from './route.js';

function urlOf(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'https://pve');
  } catch {
    return new URL('https://pve/');
  }
}

/** pveproxy's front: HTTPS, plain requests and websocket upgrades through the same checks. */
export function createApiServer(state: SimState, routes: Route[], tls: TlsMaterial): Server {
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    if (heldBack(state, req.socket)) return;
    const url = urlOf(req);
    const exchange: Exchange = { method: req.method ?? 'GET', url, headers: req.headers, upgrade: null };
    dispatch(state, routes, exchange, () => readParams(req, url))
      .then((answer) => {
        if (answer !== TAKEN_OVER) writeAnswer(res, answer);
      })
      .catch(() => res.destroy());
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (heldBack(state, socket)) return;
    const url = urlOf(req);
    const exchange: Exchange = { method: req.method ?? 'GET', url, headers: req.headers, upgrade: { socket, head } };
    dispatch(state, routes, exchange, async () => Object.fromEntries(url.searchParams))
      .then((answer) => {
        if (answer !== TAKEN_OVER) writeRawAnswer(socket, answer);
      })
      .catch(() => socket.destroy());
  });

  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('tlsClientError', () => undefined);
  admitConnections(state, server);
  return server;
}

/**
 * The `unreachable` fault for a request on a connection opened before it was set (a client's
 * kept-alive connection): it gets no further than a new connection would.
 */
function heldBack(state: SimState, socket: Duplex): boolean {
  switch (state.faults.unreachable) {
    case 'refuse':
      socket.destroy();
      return true;
    case 'drop':
      adoptSocket(state, socket);
      return true;
    case null:
      return false;
  }
}

/**
 * The `unreachable` fault, applied to each TCP connection before its first TLS byte: the TLS
 * server's own connection listener only sees the connections the fault lets through.
 */
function admitConnections(state: SimState, server: Server): void {
  const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    switch (state.faults.unreachable) {
      case 'refuse':
        socket.resetAndDestroy();
        return;
      case 'drop':
        // Read and forgotten: the client's bytes are acknowledged, never answered.
        socket.on('error', () => socket.destroy());
        socket.resume();
        adoptSocket(state, socket);
        return;
      case null:
        for (const listener of tlsListeners) listener.call(server, socket);
    }
  });
}
