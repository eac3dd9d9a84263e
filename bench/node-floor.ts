// The cost floor of a relay written in Node: a plain TCP listener, each connection piped to a TLS
// connection to the simulator and back, bytes forwarded verbatim, nothing parsed. The client speaks
// the websocket upgrade itself, through it.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { serveInChild } from './child.js';

export interface NodeFloorOptions {
  host: string;
  target: { host: string; port: number };
  caPem: string;
}

export interface NodeFloorInfo {
  /** ws origin of the plain side, e.g. ws://127.0.0.5:40000 */
  origin: string;
}

serveInChild<NodeFloorOptions, NodeFloorInfo>(async ({ host, target, caPem }) => {
  const open = new Set<Socket>();
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = tlsConnect({ host: target.host, port: target.port, ca: caPem });
    upstream.setNoDelay(true);
    open.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    info: { origin: `ws://${host}:${port}` },
    stop: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
