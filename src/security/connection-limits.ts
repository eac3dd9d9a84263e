import type { Server, Socket } from 'node:net';
import type { Logger } from '../log.js';
import { LogThrottle } from './log-throttle.js';

export interface ConnectionLimits {
  /** Open connections in all, over every server guarded (each console holds one here and one to Proxmox). */
  maxTotal: number;
  /** Open connections from one client address; 0: no such cap (behind a proxy every client shares its address). */
  maxPerAddress: number;
}

export interface ConnectionLimiter {
  /** Counts `server`'s connections with those of every other server guarded by this limiter. */
  guard(server: Server): void;
}

/**
 * Caps open connections, in all and per client address, so half-open connections from one
 * client cannot use up the process's file descriptors and take /healthz and every console down.
 * The counts span the main port and every session's port: descriptors are the process's. A
 * refused connection is closed at once; the log says so once per address and interval.
 */
export function createConnectionLimiter(limits: ConnectionLimits, log: Logger): ConnectionLimiter {
  const perAddress = new Map<string, number>();
  let total = 0;
  const refusals = new LogThrottle();
  const refuse = (socket: Socket, client: string, key: string, message: string, fields: Record<string, number>) => {
    socket.destroy();
    const held = refusals.admit(key);
    if (held !== null) log.warn(message, { client, ...fields, ...(held > 0 ? { held_back: held } : {}) });
  };
  const admit = (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    if (total >= limits.maxTotal) {
      return refuse(socket, client, `total|${client}`, 'connection refused: max_connections reached', { max_connections: limits.maxTotal });
    }
    const open = (perAddress.get(client) ?? 0) + 1;
    if (limits.maxPerAddress > 0 && open > limits.maxPerAddress) {
      return refuse(socket, client, client, 'connection refused: too many open from this address', { max_connections_per_address: limits.maxPerAddress });
    }
    total++;
    perAddress.set(client, open);
    socket.once('close', () => {
      total--;
      const left = (perAddress.get(client) ?? 1) - 1;
      if (left <= 0) perAddress.delete(client);
      else perAddress.set(client, left);
    });
  };
  return {
    guard(server) {
      // 'connection' listeners run in order of registration: this one first, before the HTTP parser's.
      server.prependListener('connection', admit);
    },
  };
}
