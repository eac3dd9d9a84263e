import { ApiError } from '../http/errors.js';
import type { InventoryGuest } from '../inventory.js';

const FIRST_PORT = 5900;
const LAST_PORT = 5999;

/**
 * What a vncproxy call leaves behind on its node: a listener on a port of 5900-5999 that accepts
 * one connection to the guest's console, or gives up after the listener wait.
 */
export interface ConsoleListener {
  readonly node: string;
  readonly port: number;
  readonly guest: InventoryGuest;
  /** Opened with websocket=1; without it the listener speaks TLS, which vncwebsocket cannot use. */
  readonly websocket: boolean;
}

interface Entry {
  listener: ConsoleListener;
  /** Null once its one connection arrived; the port stays taken until that connection ends. */
  timer: NodeJS.Timeout | null;
}

/** Listener ports per node; modelled in-process, no TCP port is opened. */
export class ListenerTable {
  private readonly byNode = new Map<string, Map<number, Entry>>();

  constructor(private readonly waitMs: () => number) {}

  private portsOf(node: string): Map<number, Entry> {
    let ports = this.byNode.get(node);
    if (!ports) {
      ports = new Map();
      this.byNode.set(node, ports);
    }
    return ports;
  }

  open(node: string, guest: InventoryGuest, websocket: boolean): ConsoleListener {
    const ports = this.portsOf(node);
    let port = FIRST_PORT;
    while (ports.has(port)) port++;
    if (port > LAST_PORT) throw new ApiError(500, `unable to find free port (${FIRST_PORT}-${LAST_PORT})\n`);
    const listener: ConsoleListener = { node, port, guest, websocket };
    const timer = setTimeout(() => ports.delete(port), this.waitMs());
    timer.unref();
    ports.set(port, { listener, timer });
    return listener;
  }

  /** The listener's one connection; null when none waits on that port (expired, used, never opened). */
  accept(node: string, port: number): ConsoleListener | null {
    const entry = this.byNode.get(node)?.get(port);
    if (!entry || entry.timer === null) return null;
    clearTimeout(entry.timer);
    entry.timer = null;
    return entry.listener;
  }

  /** The accepted connection ended: the port is free again. */
  release(listener: ConsoleListener): void {
    const ports = this.byNode.get(listener.node);
    if (ports?.get(listener.port)?.listener === listener) ports.delete(listener.port);
  }

  closeAll(): void {
    for (const ports of this.byNode.values()) for (const entry of ports.values()) if (entry.timer) clearTimeout(entry.timer);
    this.byNode.clear();
  }
}
