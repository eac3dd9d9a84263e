import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from '../log.js';

export interface PortRange {
  from: number;
  to: number;
}

export interface SessionPortsOptions {
  range: PortRange;
  /** The address the ports listen on (router_ip). */
  host: string;
  /** The gateway's own certificate, when it serves TLS itself. */
  tls: { cert: Buffer; key: Buffer } | null;
  /** The public origin of a session's port, e.g. https://console.example.com:10007. */
  originOf(port: number): string;
  /** Answers a request let through to the session's port (the gateway's router). */
  serve(request: IncomingMessage, response: ServerResponse): void;
  /** Takes the console websocket on `server`, for pages served from `origin`. */
  attachSockets(server: Server, origin: string): { close(): void };
  /** Timeouts, connection caps and parser refusals, as on the main port; runs before the port listens. */
  prepareServer(server: Server): void;
  log: Logger;
}

interface SessionPort {
  port: number;
  origin: string;
  server: Server;
  sockets: { close(): void };
}

/**
 * The original program's model (`session_ports`): each session gets a port of its own from a
 * range, released when the session ends. Unlike the original, a session's port serves only that
 * session's page, state and websocket (plus the static assets), under the same cookie check as the
 * main port.
 */
export class SessionPorts {
  private readonly bySession = new Map<string, SessionPort>();
  /** Ports being opened or open, so two sessions never race for one. */
  private readonly taken = new Set<number>();

  constructor(private readonly options: SessionPortsOptions) {}

  /** The session's own origin, or null when every port of the range is taken. */
  async open(sessionId: string): Promise<string | null> {
    const { from, to } = this.options.range;
    for (let port = from; port <= to; port++) {
      if (this.taken.has(port)) continue;
      this.taken.add(port);
      const server = await this.listen(sessionId, port);
      if (!server) {
        this.taken.delete(port);
        continue;
      }
      const origin = this.options.originOf(port);
      this.bySession.set(sessionId, { port, origin, server, sockets: this.options.attachSockets(server, origin) });
      this.options.log.child('ROUTER', { session: sessionId }).info('session port opened', { port });
      return origin;
    }
    return null;
  }

  /** The session's own origin and port, while it has them. */
  servedAt(sessionId: string): { origin: string; port: number } | undefined {
    const entry = this.bySession.get(sessionId);
    return entry && { origin: entry.origin, port: entry.port };
  }

  async release(sessionId: string): Promise<void> {
    const entry = this.bySession.get(sessionId);
    if (!entry) return;
    this.bySession.delete(sessionId);
    entry.sockets.close();
    const closed = new Promise<void>((resolve) => entry.server.close(() => resolve()));
    entry.server.closeAllConnections();
    // Listening stopped just now: the port may serve the next session at once.
    this.taken.delete(entry.port);
    await closed;
  }

  /** Shutting down: no new connections on any session's port; open consoles carry on. */
  stopAccepting(): void {
    for (const { server } of this.bySession.values()) server.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.bySession.keys()].map((id) => this.release(id)));
  }

  /** A server for the one session on `port`, or null when something else holds the port. */
  private listen(sessionId: string, port: number): Promise<Server | null> {
    const ownPaths = `/console/${sessionId}/`;
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      const url = request.url ?? '';
      if (url.startsWith(ownPaths) || url.startsWith('/assets/')) return this.options.serve(request, response);
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Not found.\n');
    };
    const server = this.options.tls ? createHttpsServer({ ...this.options.tls }, handler) : createHttpServer(handler);
    this.options.prepareServer(server);
    return new Promise((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') this.options.log.child('ROUTER').warn('session port unusable', { port, error });
        resolve(null);
      });
      server.listen(port, this.options.host, () => resolve(server));
    });
  }
}
