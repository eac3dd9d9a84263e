// The sockets relay() joins, on loopback: a browser's websocket to a server playing the gateway's
// public side, and the gateway's upstream websocket to a server playing pveproxy (over TLS, dialled
// as the gateway dials a console, when asked).
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { wsCreateConnection } from '../../src/proxmox/tls.js';
import { generateClusterTls } from '../../sim/tls.js';

export interface RelayPair {
  /** The browser's end. */
  browser: WebSocket;
  /** The gateway's websocket toward the browser. */
  gatewaySide: WebSocket;
  /** The gateway's websocket toward Proxmox. */
  upstream: WebSocket;
  /** Proxmox's end of it. */
  farUpstream: WebSocket;
}

export interface RelayServers {
  /** A new browser and upstream connection, both open, not yet joined. */
  connect(): Promise<RelayPair>;
  /** Ends every connection and both servers. */
  close(): Promise<void>;
}

export interface RelayServerOptions {
  /** Largest message pveproxy's side accepts (ws's default otherwise). */
  upstreamMaxPayload?: number;
  /** Largest message the gateway's public side accepts (ws's default otherwise). */
  gatewayMaxPayload?: number;
  /**
   * pveproxy's side speaks TLS, and the upstream is dialled through wsCreateConnection as a
   * console is: its reads go into the reused buffers of UpstreamReads.
   */
  tls?: boolean;
}

const HANDSHAKE_TIMEOUT_MS = 5_000;

/** Largest message the browser accepts: the tests send tens of MiB through. */
const BROWSER_MAX_PAYLOAD = 64 * 1024 * 1024;

export async function startRelayServers(options: RelayServerOptions = {}): Promise<RelayServers> {
  const limit = (maxPayload: number | undefined) => ({ perMessageDeflate: false, ...(maxPayload ? { maxPayload } : {}) });
  const tls = options.tls ? await generateClusterTls('127.0.0.1', 'pve1') : undefined;
  const httpsServer = tls ? createHttpsServer({ key: tls.keyPem, cert: tls.certPem }) : undefined;
  if (httpsServer) await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  const upstreamServer = httpsServer
    ? new WebSocketServer({ server: httpsServer, ...limit(options.upstreamMaxPayload) })
    : new WebSocketServer({ host: '127.0.0.1', port: 0, ...limit(options.upstreamMaxPayload) });
  const gatewayServer = new WebSocketServer({ host: '127.0.0.1', port: 0, ...limit(options.gatewayMaxPayload) });
  await Promise.all([httpsServer ? undefined : once(upstreamServer, 'listening'), once(gatewayServer, 'listening')]);
  const portOf = (s: WebSocketServer) => ((httpsServer && s === upstreamServer ? httpsServer.address() : s.address()) as AddressInfo).port;
  const url = (s: WebSocketServer) => `${httpsServer && s === upstreamServer ? 'wss' : 'ws'}://127.0.0.1:${portOf(s)}/`;
  const dial = tls
    ? {
        // Node's http accepts the callback form of createConnection; ws's types only know the other.
        createConnection: wsCreateConnection({ kind: 'ca', caPem: tls.caPem }, { host: '127.0.0.1', port: portOf(upstreamServer) }, HANDSHAKE_TIMEOUT_MS) as unknown as WebSocket.ClientOptions['createConnection'],
      }
    : {};
  return {
    async connect() {
      const farUpstreamP = once(upstreamServer, 'connection').then(([ws]) => ws as WebSocket);
      const gatewaySideP = once(gatewayServer, 'connection').then(([ws]) => ws as WebSocket);
      const upstream = new WebSocket(url(upstreamServer), { perMessageDeflate: false, ...dial });
      const browser = new WebSocket(url(gatewayServer), { perMessageDeflate: false, maxPayload: BROWSER_MAX_PAYLOAD });
      for (const ws of [upstream, browser]) ws.on('error', () => {});
      const [farUpstream, gatewaySide] = await Promise.all([farUpstreamP, gatewaySideP, once(upstream, 'open'), once(browser, 'open')]);
      farUpstream.on('error', () => {});
      gatewaySide.on('error', () => {});
      return { browser, gatewaySide, upstream, farUpstream };
    },
    async close() {
      for (const s of [upstreamServer, gatewayServer]) {
        for (const ws of s.clients) ws.terminate();
        await new Promise((resolve) => s.close(resolve));
      }
      if (httpsServer) await new Promise((resolve) => httpsServer.close(resolve));
    },
  };
}

/** ws's socket under a WebSocket: where the bytes a relay holds wait. */
export function socketOf(ws: WebSocket): Duplex {
  return (ws as unknown as { _socket: Duplex })._socket;
}
