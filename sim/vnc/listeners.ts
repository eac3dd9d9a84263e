import type { Socket } from 'node:net';
import { ApiError } from '../http/errors.js';
import type { InventoryGuest } from '../inventory.js';

const FIRST_PORT = 5900;
const LAST_PORT = 5999;

/** What answers on a listener's port: QEMU's one-shot VNC listener, vncterm or termproxy. */
export interface PortService {
  /** Whether the port keeps accepting connections after the first (vncterm does). */
  readonly reusable: boolean;
  /** The service ends a connection with no byte either way for this long; undefined: never. */
  readonly idleCutMs?: number;
  /** A connection to the service; null when it accepts and has nothing to say (stopped guest, TLS-only listener). */
  connect(): Promise<Socket | null>;
  /** The port is given up (its wait ran out, its connection ended, the simulator stops): the service ends. */
  close(): Promise<void>;
}

/**
 * What a vncproxy or termproxy call leaves behind on its node: a port of 5900-5999 whose service
 * takes its first connection within a wait, or gives up.
 */
export interface ConsoleListener {
  readonly node: string;
  readonly port: number;
  readonly guest: InventoryGuest;
  readonly service: PortService;
}

interface Entry {
  /** Null while its service starts. */
  listener: ConsoleListener | null;
  /** The first-connection wait; null once a connection arrived. */
  timer: NodeJS.Timeout | null;
}

/** Listener ports per node; modelled in-process, no TCP port is opened. */
export class ListenerTable {
  private readonly byNode = new Map<string, Map<number, Entry>>();

  private portsOf(node: string): Map<number, Entry> {
    let ports = this.byNode.get(node);
    if (!ports) {
      ports = new Map();
      this.byNode.set(node, ports);
    }
    return ports;
  }

  /**
   * Takes the node's lowest free port and starts its service, which then waits `waitMs` for a
   * connection. The service calls `exited` when it ends by itself (the port is free again).
   */
  async open(node: string, guest: InventoryGuest, waitMs: number, serve: (port: number, exited: () => void) => Promise<PortService>): Promise<ConsoleListener> {
    const ports = this.portsOf(node);
    let port = FIRST_PORT;
    while (ports.has(port)) port++;
    if (port > LAST_PORT) throw new ApiError(500, `unable to find free port (${FIRST_PORT}-${LAST_PORT})\n`);
    const entry: Entry = { listener: null, timer: null };
    ports.set(port, entry);
    const exited = (): void => {
      if (ports.get(port) !== entry) return;
      if (entry.timer) clearTimeout(entry.timer);
      ports.delete(port);
    };
    let service: PortService;
    try {
      service = await serve(port, exited);
    } catch (err) {
      ports.delete(port);
      throw err;
    }
    const listener: ConsoleListener = { node, port, guest, service };
    if (ports.get(port) !== entry) {
      // The table was closed meanwhile.
      await service.close();
      throw new Error('listener table closed');
    }
    entry.listener = listener;
    entry.timer = setTimeout(() => void this.release(listener), waitMs);
    entry.timer.unref();
    return listener;
  }

  /** A connection for the port; null when nothing takes one there (expired, used, never opened). */
  accept(node: string, port: number): ConsoleListener | null {
    const entry = this.byNode.get(node)?.get(port);
    if (!entry?.listener) return null;
    if (entry.timer === null && !entry.listener.service.reusable) return null;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    return entry.listener;
  }

  /** The port is free again and its service ends; releasing twice does nothing. */
  async release(listener: ConsoleListener): Promise<void> {
    const ports = this.byNode.get(listener.node);
    const entry = ports?.get(listener.port);
    if (entry?.listener !== listener) return;
    if (entry.timer) clearTimeout(entry.timer);
    ports!.delete(listener.port);
    await listener.service.close();
  }

  async closeAll(): Promise<void> {
    const listeners = [...this.byNode.values()].flatMap((ports) => [...ports.values()]).flatMap((entry) => (entry.listener ? [entry.listener] : []));
    await Promise.all(listeners.map((listener) => this.release(listener)));
    for (const ports of this.byNode.values()) ports.clear();
    this.byNode.clear();
  }
}
