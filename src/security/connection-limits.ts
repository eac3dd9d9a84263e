import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { LogThrottle } from './log-throttle.js';

export interface ConnectionLimits {
  /** Open connections in all (each console holds one here and one to Proxmox). */
  maxTotal: number;
  /** Open connections from one client address; 0: no such cap (behind a proxy every client shares its address). */
  maxPerAddress: number;
}

/**
 * Caps open connections, in all and per client address, so half-open connections from one
 * client cannot use up the process's file descriptors and take /healthz and every console down.
 * A refused connection is closed at once; the log says so once per address and interval.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, log: Logger): void {
  server.maxConnections = limits.maxTotal;
  const perAddress = new Map<string, number>();
  const refusals = new LogThrottle();
  server.on('drop', (data?: { remoteAddress?: string }) => {
    const client = data?.remoteAddress ?? '';
    const held = refusals.admit(`total|${client}`);
    if (held !== null) log.warn('connection refused: max_connections reached', { client, max_connections: limits.maxTotal, ...(held > 0 ? { held_back: held } : {}) });
  });
  if (limits.maxPerAddress <= 0) return;
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const open = (perAddress.get(client) ?? 0) + 1;
    if (open > limits.maxPerAddress) {
      socket.destroy();
      const held = refusals.admit(client);
      if (held !== null) log.warn('connection refused: too many open from this address', { client, max_connections_per_address: limits.maxPerAddress, ...(held > 0 ? { held_back: held } : {}) });
      return;
    }
    perAddress.set(client, open);
    socket.once('close', () => {
      const left = (perAddress.get(client) ?? 1) - 1;
      if (left <= 0) perAddress.delete(client);
      else perAddress.set(client, left);
    });
  });
}
